import json

import pytest
from django.core.management import CommandError

from labelapp.models import Candidate, Generator, GeneratorBackend, Item, Prompt
from tests.labelapp.importers.conftest import FILES, import_file, parquet_copy


def test_answers_become_candidates_of_external_generators_and_no_items(campaign_of):
    campaign = campaign_of("pairwise")
    said = import_file(FILES / "candidates.jsonl", campaign, "candidates")
    assert (
        "candidates.jsonl: 4 rows; new: 3 prompts, 5 candidates; new external generators: acme-1b, acme-7b."
        in said
    )
    assert not Item.objects.exists()  # build_items groups them, as the campaign's kind needs
    sums = Prompt.objects.get(text="What is 2 + 2?")
    assert (sums.reference_answer, sums.source) == ("4", "candidates.jsonl:1")
    right = Candidate.objects.get(text="2 + 2 = 4.")
    assert (right.generator.name, right.params, right.seed, right.token_count) == (
        "acme-7b",
        {"temperature": 0.7, "seed": 11},
        11,
        3,
    )
    assert right.logprob_sum == pytest.approx(-0.6) and right.logprob_mean == pytest.approx(-0.2)
    assert {g.name: g.backend for g in Generator.objects.all()} == {
        "acme-1b": GeneratorBackend.EXTERNAL,
        "acme-7b": GeneratorBackend.EXTERNAL,
    }


def test_several_answers_per_row_and_a_chat_prompt(campaign_of):
    campaign = campaign_of("setwise")
    import_file(FILES / "candidates.jsonl", campaign, "candidates")
    colour = Prompt.objects.get(messages__isnull=False)
    assert colour.messages == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Name a colour."},
    ]
    assert colour.metadata == {"topic": "colours"}
    answers = list(colour.candidates.order_by("id").values_list("text", "generator__name", "metadata"))
    # Two samples of one text by one model, in one row, are two answers: what a set-wise item looks for.
    assert answers == [
        ("Rouge.", "acme-7b", {}),
        ("Bleu.", "acme-1b", {"latency_ms": 212}),
        ("Bleu.", "acme-1b", {}),
    ]
    assert colour.candidates.get(text="Rouge.").logprob_mean == pytest.approx(-0.3)
    haiku = Prompt.objects.get(text="Write a haiku about rain.")
    assert haiku.metadata == {"level": "easy"} and not haiku.candidates.exists()


def test_csv_cells_hold_json_and_rows_with_one_prompt_share_it(campaign_of):
    campaign = campaign_of("pairwise")
    said = import_file(FILES / "candidates.csv", campaign, "candidates")
    assert "4 rows; new: 3 prompts, 3 candidates" in said
    sums = Prompt.objects.get(text="What is 2 + 2?")
    assert (sums.reference_answer, sums.metadata) == ("4", {"level": "easy"})
    assert sums.candidates.get(generator__name="acme-7b").params == {"temperature": 0.7, "seed": 11}
    assert (
        Prompt.objects.get(text="Name a colour,\nin one word.").source == "candidates.csv:5"
    )  # where it ends


def test_the_same_answers_as_jsonl_and_parquet_are_imported_once(campaign_of, tmp_path):
    campaign = campaign_of("pairwise")
    import_file(FILES / "candidates.jsonl", campaign, "candidates")
    assert "4 rows; 0 new;" in import_file(parquet_copy("candidates.jsonl", tmp_path), campaign, "candidates")


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"prompt": "Hi", "response": "Hello."}, "field 'model': is required with 'response'"),
        ({"prompt": "Hi", "model": "m"}, "field 'model': belongs to an answer: add 'response'"),
        (
            {"prompt": "Hi", "response": "a", "responses": [{"text": "b", "model": "m"}], "model": "m"},
            "field 'responses': give one answer ('response') or several ('responses'), not both",
        ),
        ({"prompt": "Hi", "responses": [{"text": "b"}]}, "field 'responses[0].model': must name the model"),
        (
            {"prompt": "Hi", "responses": [{"text": "b", "model": "m", "score": 3}]},
            "field 'responses[0]': unknown field(s) score; allowed: text, model, params, logprobs, metadata",
        ),
        (
            {"prompt": "Hi", "response": "b", "model": "m", "logprobs": [-0.5, 0.2]},
            "field 'logprobs': token 1 has logprob 0.2; a log probability is at most 0",
        ),
        (
            {"prompt": "Hi", "response": "b", "model": "m", "params": [0.7]},
            "field 'params': must be an object of sampling params",
        ),
        (
            {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]},
            "field 'messages': message 1 must have role 'assistant': after an optional system message, user and "
            "assistant turns alternate",
        ),
        (
            {"prompt": "Hi", "response": "b", "model": "m" * 101},
            "field 'model': is longer than 100 characters",
        ),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_imported(campaign_of, tmp_path, row, error):
    path = tmp_path / "answers.jsonl"
    path.write_text('{"prompt": "Fine?", "response": "Yes.", "model": "ok"}\n' + json.dumps(row) + "\n")
    with pytest.raises(CommandError) as refused:
        import_file(path, campaign_of("pairwise"), "candidates")
    assert str(refused.value).startswith(f"answers.jsonl, line 2, {error}")
    assert not Prompt.objects.exists() and not Generator.objects.exists()
