import json

import pytest
from django.core.management import CommandError

from labelapp.models import Candidate
from tests.labelapp.importers.conftest import FILES, import_file, imported_items, records, saved_dataset


def test_battles_are_pairs_of_the_two_models_with_the_vote_as_source_label(campaign_of, tmp_path):
    campaign = campaign_of("pairwise")
    said = import_file(saved_dataset("arena.jsonl", tmp_path), campaign, "arena", source="lmsys/arena")
    assert "arena: 4 rows; new: 4 prompts, 8 candidates, 4 items, 4 source labels" in said
    opencl, wedding, cameras, tea = imported_items(campaign)
    assert opencl.models == ("chatglm-6b", "koala-13b")
    assert [item.source_value for item in (opencl, wedding, cameras, tea)] == [
        {"choice": "a"},
        {"choice": "tie"},
        {"choice": "both_bad"},
        {"choice": "b"},
    ]
    assert opencl.prompt == [{"role": "user", "content": "What is the difference between OpenCL and CUDA?"}]
    assert opencl.source_raw["judge"] == "arena_user_973" and opencl.source_raw["turn"] == 1
    assert opencl.source_raw["openai_moderation"] == {
        "categories": {"harassment": False, "violence": False},
        "flagged": False,
    }


def test_a_multi_turn_battle_keeps_each_sides_earlier_turns(campaign_of):
    campaign = campaign_of("pairwise")
    import_file(FILES / "arena.jsonl", campaign, "arena")
    wedding = imported_items(campaign)[1]
    assert wedding.prompt == [
        {"role": "user", "content": "Why did my parent not invite me to their wedding?"}
    ]
    assert wedding.answers == (
        "Then it may be worth asking them how they chose.",
        "That sounds hard; you could talk to them.",
    )
    side_a = Candidate.objects.get(text="Then it may be worth asking them how they chose.")
    assert side_a.metadata["history"] == [
        {"role": "assistant", "content": "Perhaps it was a small ceremony."},
        {"role": "user", "content": "They invited my sister though."},
    ]
    assert side_a.generator.name == "oasst-pythia-12b"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"winner": "model_c"}, "field 'winner': must be one of model_a, model_b, tie, tie (bothbad)"),
        (
            {
                "conversation_b": [
                    {"role": "user", "content": "Something else entirely."},
                    {"role": "assistant", "content": "Hm."},
                ]
            },
            "field 'conversation_b': must begin with the same user message as conversation_a",
        ),
        (
            {
                "conversation_a": [
                    {"role": "user", "content": "What is the difference between OpenCL and CUDA?"}
                ]
            },
            "field 'conversation_a': must end with the model's reply (an assistant message)",
        ),
        ({"model_a": ""}, "field 'model_a': must name the model"),
    ],
)
def test_a_bad_battle_is_named(campaign_of, tmp_path, change, error):
    path = tmp_path / "arena.jsonl"
    first, *rest = records("arena.jsonl")
    path.write_text("\n".join(json.dumps(row) for row in [*rest, {**first, **change}]) + "\n")
    with pytest.raises(CommandError) as refused:
        import_file(path, campaign_of("pairwise"), "arena")
    assert str(refused.value).startswith(f"arena.jsonl, line 4, {error}")
    assert not Candidate.objects.exists()
