import json
from collections import Counter

import pytest
from django.core.management import CommandError

from labelapp.models import Candidate, Generator, GeneratorBackend, Prompt
from tests.labelapp.importers.conftest import FILES, import_file, imported_items, parquet_copy, preferred

BREAD_HISTORY = [
    {"role": "user", "content": "Can you help me bake bread?"},
    {"role": "assistant", "content": "Sure. Do you have yeast?"},
    {"role": "user", "content": "Yes, a packet of dry yeast."},
]


def test_the_shared_history_is_the_prompt_and_the_last_assistant_turns_are_the_pair(campaign_of):
    campaign = campaign_of("pairwise")
    said = import_file(FILES / "hh-rlhf.jsonl", campaign, "hh-rlhf")
    assert "hh-rlhf.jsonl: 3 rows; new: 3 prompts, 6 candidates, 3 items, 3 source labels" in said
    france, bread, lock = imported_items(campaign)
    assert france.prompt == [{"role": "user", "content": "What is the capital of France?"}]
    assert bread.prompt == BREAD_HISTORY
    assert sorted(bread.answers) == [
        "Great: mix 500 g of flour, 7 g of yeast, 10 g of salt and 350 ml of warm water, knead for ten "
        "minutes and let it rise for an hour.",
        "Just buy bread instead.",
    ]
    # The source label prefers each transcript's `chosen` answer, whichever canonical place it got.
    assert [preferred(item) for item in (france, bread, lock)] == [
        "The capital of France is Paris.",
        bread.answers[0] if bread.answers[0].startswith("Great") else bread.answers[1],
        "I can't help with getting into places that aren't yours, but a locksmith can let you into your own home.",
    ]
    assert all(sorted(item.positions) == [0, 1] for item in (france, bread, lock))
    assert Generator.objects.get(name="hh-rlhf").backend == GeneratorBackend.EXTERNAL
    assert Prompt.objects.get(messages=BREAD_HISTORY).source == "hh-rlhf.jsonl:2"


def test_the_same_file_again_or_as_parquet_adds_nothing(campaign_of, tmp_path):
    campaign = campaign_of("pairwise")
    import_file(FILES / "hh-rlhf.jsonl", campaign, "hh-rlhf")
    again = import_file(FILES / "hh-rlhf.jsonl", campaign, "hh-rlhf")
    assert "3 rows; 0 new; seen before: 3 prompts, 6 candidates, 3 items, 3 source labels." in again
    as_parquet = import_file(parquet_copy("hh-rlhf.jsonl", tmp_path), campaign, "hh-rlhf")
    assert "hh-rlhf.parquet: 3 rows; 0 new;" in as_parquet
    assert Candidate.objects.count() == 6


def test_chosen_is_first_in_about_half_the_items_so_agreement_with_it_means_something(campaign_of, tmp_path):
    """chosen always in place a would make the source's verdict always "a", and Cohen's kappa with the
    labellers 0 whatever they answer; the place is drawn from the answers' content, the same every time."""
    path = tmp_path / "many.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "chosen": f"\n\nHuman: Question {n}?\n\nAssistant: A good answer {n}.",
                    "rejected": f"\n\nHuman: Question {n}?\n\nAssistant: A poor answer {n}.",
                }
            )
            + "\n"
            for n in range(60)
        )
    )
    campaign = campaign_of("pairwise")
    import_file(path, campaign, "hh-rlhf")
    items = imported_items(campaign)
    choices = Counter(item.source_value["choice"] for item in items)
    assert choices["a"] + choices["b"] == 60 and 15 <= choices["a"] <= 45
    assert all(preferred(item).startswith("A good answer") for item in items)
    other = campaign_of("pairwise", "again")
    import_file(path, other, "hh-rlhf")
    assert [item.source_value for item in imported_items(other)] == [item.source_value for item in items]
    assert {item.positions for item in items} == {(0, 1), (1, 0)}  # shown places drawn per item, stored


def test_a_pair_is_one_item_per_answer_on_a_coherence_campaign_and_refused_on_a_ranking(campaign_of):
    coherence = campaign_of("coherence")
    said = import_file(FILES / "hh-rlhf.jsonl", coherence, "hh-rlhf")
    assert "6 candidates, 6 items;" in said and "source label" not in said
    assert all(len(item.answers) == 1 and item.source_value is None for item in imported_items(coherence))
    with pytest.raises(
        CommandError,
        match="Format 'hh-rlhf' imports into pairwise, correctness or coherence "
        "campaigns; 'ranking' is a ranking campaign.",
    ):
        import_file(FILES / "hh-rlhf.jsonl", campaign_of("ranking"), "hh-rlhf")


@pytest.mark.parametrize(
    ("rejected", "error"),
    [
        (
            "\n\nHuman: What is the capital of Italy?\n\nAssistant: Rome.",
            "hh.jsonl, line 2, field 'rejected': chosen and rejected must differ only in their last Assistant "
            "turn; they differ at turn 1",
        ),
        ("What is the capital of France? Paris.", "hh.jsonl, line 2, field 'rejected': must be a transcript"),
        (
            "\n\nHuman: What is the capital of France?\n\nAssistant: Paris.\n\nHuman: Sure?",
            "hh.jsonl, line 2, field 'rejected': must end with an Assistant turn",
        ),
    ],
)
def test_a_bad_transcript_is_named_and_nothing_is_imported(campaign_of, tmp_path, rejected, error):
    good = (FILES / "hh-rlhf.jsonl").read_text().splitlines()[0]
    bad = {"chosen": "\n\nHuman: What is the capital of France?\n\nAssistant: Paris.", "rejected": rejected}
    path = tmp_path / "hh.jsonl"
    path.write_text(good + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(CommandError) as refused:
        import_file(path, campaign_of("pairwise"), "hh-rlhf")
    assert str(refused.value).startswith(error)
    assert Prompt.objects.count() == Candidate.objects.count() == 0
