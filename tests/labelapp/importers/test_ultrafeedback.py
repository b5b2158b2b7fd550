from labelapp.models import Candidate, Generator, GeneratorBackend, Prompt
from tests.labelapp.importers.conftest import FILES, import_file, imported_items, parquet_copy

MODELS = ("gpt-4", "alpaca-7b", "falcon-40b-instruct", "wizardlm-7b")


def test_on_a_ranking_campaign_each_row_is_one_ranking_ordered_by_overall_score(campaign_of):
    campaign = campaign_of("ranking")
    said = import_file(FILES / "ultrafeedback.jsonl", campaign, "ultrafeedback")
    assert "2 rows; new: 2 prompts, 7 candidates, 2 items, 2 source labels" in said
    colours, gum = imported_items(campaign)
    assert colours.models == MODELS and colours.prompt == "Name three primary colours."
    assert colours.source_value == {"order": [0, 2, 1, 3], "top": 0}
    assert colours.source_raw["scores"] == [9.0, 3.0, 7.5, 1.0]
    assert colours.source_raw["fine-grained_score"] == [4.75, 2.25, 4.0, 1.25]
    assert gum.source_value == {"order": [0, 2, 1], "top": 0}  # equal scores keep the dataset's order
    assert sorted(colours.positions) == [0, 1, 2, 3]
    assert {g.backend for g in Generator.objects.filter(name__in=MODELS)} == {GeneratorBackend.EXTERNAL}


def test_on_a_pairwise_campaign_every_pair_is_an_item_won_by_the_higher_score(campaign_of):
    campaign = campaign_of("pairwise")
    import_file(FILES / "ultrafeedback.jsonl", campaign, "ultrafeedback")
    items = imported_items(campaign)
    assert len(items) == 6 + 3
    verdicts = {item.models: item.source_value["choice"] for item in items}
    assert verdicts[("gpt-4", "alpaca-7b")] == "a"
    assert verdicts[("alpaca-7b", "falcon-40b-instruct")] == "b"
    gum = [item for item in items if item.prompt == "What happens if you swallow gum?"]
    assert {item.models: item.source_value["choice"] for item in gum}[
        ("gpt-4", "falcon-40b-instruct")
    ] == "tie"


def test_on_a_setwise_campaign_the_set_is_one_item_with_its_best_and_worst(campaign_of, tmp_path):
    campaign = campaign_of("setwise")
    import_file(parquet_copy("ultrafeedback.jsonl", tmp_path), campaign, "ultrafeedback")
    colours, gum = imported_items(campaign)
    assert colours.source_value == {"best": 0, "worst": 3}
    assert gum.source_value == {"worst": 1}  # two answers share the best score: no best


def test_answers_keep_their_ratings_and_the_prompt_its_reference_answers(campaign_of):
    campaign = campaign_of("correctness")
    said = import_file(FILES / "ultrafeedback.jsonl", campaign, "ultrafeedback")
    assert "7 candidates, 7 items;" in said and "source label" not in said  # no verdict of correctness
    gum = Prompt.objects.get(text="What happens if you swallow gum?")
    assert gum.reference_answer == "Nothing much happens\nIt passes through your digestive system"
    assert gum.metadata["incorrect_answers"] == ["It stays in your stomach for seven years"]
    assert (
        "correct_answers" not in Prompt.objects.get(text="Name three primary colours.").metadata
    )  # ["None"]
    answer = Candidate.objects.get(generator__name="alpaca-7b", prompt=gum)
    assert answer.metadata["annotations"]["honesty"] == {"Rating": "1", "Rationale": "honesty rationale"}
    assert answer.metadata["overall_score"] == 2.0 and answer.metadata["critique"] == "Critique of alpaca-7b."
