import json

import pytest
from django.core.management import CommandError
from trl.data_utils import is_conversational, maybe_extract_prompt

from labelapp.importers import trl_preference
from labelapp.models import Prompt
from tests.labelapp.importers.conftest import (
    FILES,
    import_file,
    imported_items,
    preferred,
    records,
    saved_dataset,
)

USER = {"role": "user", "content": "What color is the sky?"}
EDGE_CASES = [
    # The space before the point the answers part goes with the answers.
    {"chosen": "The sky is blue", "rejected": "The sky is green"},
    # One answer begins with the other: TRL's loop stops one short of the shorter.
    {"chosen": "Answer: yes", "rejected": "Answer: yes, surely"},
    # An explicit prompt of the other form than the answers is replaced by an extracted one.
    {
        "prompt": "What color is the sky?",
        "chosen": [USER, {"role": "assistant", "content": "Blue."}],
        "rejected": [USER, {"role": "assistant", "content": "Green."}],
    },
    {"prompt": [USER], "chosen": "What color is the sky? Blue.", "rejected": "What color is the sky? Green."},
]


@pytest.mark.parametrize(
    "example",
    [
        *records("trl-standard.jsonl"),
        *records("trl-conversational.jsonl"),
        *records("trl-implicit.jsonl"),
        *EDGE_CASES,
    ],
)
def test_the_prompt_is_extracted_exactly_as_trl_extracts_it(example):
    ours = trl_preference.maybe_extract_prompt(dict(example))
    theirs = maybe_extract_prompt(dict(example))
    assert {key: ours[key] for key in ("prompt", "chosen", "rejected")} == {
        key: theirs[key] for key in ("prompt", "chosen", "rejected")
    }
    assert trl_preference.is_conversational(example["chosen"]) == is_conversational(
        {"chosen": example["chosen"]}
    )


@pytest.mark.parametrize("name", ["trl-standard.jsonl", "trl-conversational.jsonl", "trl-implicit.jsonl"])
def test_each_pair_imports_as_trl_reads_it(campaign_of, name):
    campaign = campaign_of("pairwise")
    import_file(FILES / name, campaign, "trl-preference")
    items = imported_items(campaign)
    assert len(items) == len(records(name))
    for item, example in zip(items, records(name), strict=True):
        extracted = maybe_extract_prompt(example)
        assert item.prompt == extracted["prompt"]
        chosen, rejected = (
            (extracted[key][0]["content"] for key in ("chosen", "rejected"))
            if is_conversational(extracted)
            else (extracted["chosen"], extracted["rejected"])
        )
        assert preferred(item) == chosen and set(item.answers) == {chosen, rejected}
        assert item.models == ("trl-preference", "trl-preference")


def test_standard_and_conversational_forms_become_text_and_chat_prompts(campaign_of):
    campaign = campaign_of("pairwise")
    import_file(FILES / "trl-standard.jsonl", campaign, "trl-preference", source="HuggingFaceH4/example")
    import_file(
        FILES / "trl-conversational.jsonl", campaign, "trl-preference", source="HuggingFaceH4/example"
    )
    sky, sun, chat_sky, chat_sun = imported_items(campaign)
    assert sky.prompt == "The sky is" and set(sky.answers) == {" blue.", " green."}
    assert sky.source_raw == {"score_chosen": 8.0, "score_rejected": 2.0}  # other columns, kept
    assert chat_sun.prompt == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Where is the sun?"},
    ]
    assert preferred(chat_sun) == "In the sky."
    assert set(chat_sky.models) == {"HuggingFaceH4/example"}


def test_a_datasets_folder_imports_like_its_jsonl(campaign_of, tmp_path):
    folder = saved_dataset("trl-conversational.jsonl", tmp_path)
    from_folder, from_jsonl = campaign_of("pairwise", "folder"), campaign_of("pairwise", "jsonl")
    said = import_file(folder, from_folder, "trl-preference")
    import_file(FILES / "trl-conversational.jsonl", from_jsonl, "trl-preference")
    assert "trl-conversational: 2 rows; new: 2 prompts, 4 candidates, 2 items, 2 source labels" in said
    assert imported_items(from_folder)[0].prompt == imported_items(from_jsonl)[0].prompt
    assert [i.source_value for i in imported_items(from_folder)] == [
        i.source_value for i in imported_items(from_jsonl)
    ]


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"prompt": "Hi", "chosen": "Hello."}, "line 2, field 'rejected': is required"),
        (
            {"chosen": "Blue.", "rejected": "Green."},
            "line 2, field 'chosen': chosen and rejected share no prompt",
        ),
        (
            {
                "prompt": [USER],
                "chosen": [{"role": "assistant", "content": "Blue."}, {"role": "user", "content": "Sure?"}],
                "rejected": [{"role": "assistant", "content": "Green."}],
            },
            "line 2, field 'chosen': after the prompt must be one assistant message, not 2 message(s)",
        ),
        (
            {
                "prompt": [{"role": "assistant", "content": "Hi"}],
                "chosen": [{"role": "assistant", "content": "Blue."}],
                "rejected": [{"role": "assistant", "content": "Green."}],
            },
            "line 2, field 'prompt': the last message must have role 'user'",
        ),
        ({"prompt": 7, "chosen": "a", "rejected": "b"}, "line 2, field 'prompt': must be a non-empty string"),
    ],
)
def test_a_bad_pair_is_named_and_nothing_is_imported(campaign_of, tmp_path, row, error):
    path = tmp_path / "prefs.jsonl"
    path.write_text(
        (FILES / "trl-standard.jsonl").read_text().splitlines()[0] + "\n" + json.dumps(row) + "\n"
    )
    with pytest.raises(CommandError) as refused:
        import_file(path, campaign_of("pairwise"), "trl-preference")
    assert str(refused.value).startswith(f"prefs.jsonl, {error}")
    assert not Prompt.objects.exists()
