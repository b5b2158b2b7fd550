"""Aggregation and filtering options: each one changes exactly the rows it says it does."""

import datetime

import pytest
from django.core.management import CommandError, call_command

from labelapp.errors import ApplicationError
from labelapp.exporters.options import export_options_parse
from labelapp.exporters.pseudonyms import labeller_pseudonym
from labelapp.models import Generator, Label, Prompt
from labelapp.services.items import items_build
from tests.factories import candidates_add
from tests.labelapp.exporters.conftest import export, prompts_with_pairs, read_jsonl, vote


@pytest.fixture
def items(campaign, generator):
    return prompts_with_pairs(campaign, generator, ["Q1?", "Q2?", "Q3?", "Q4?"])


def exported_items(campaign, tmp_path, format="dpo", **options) -> list[int]:
    out = tmp_path / f"{format}.jsonl"
    export(campaign, format, out, **options)
    return sorted(row["item_id"] for row in read_jsonl(out))


def test_min_labels_counts_labels_after_the_label_filters(campaign, items, raters, tmp_path):
    vote(items[0], raters[0], "a")
    vote(items[1], raters[0], "a")
    vote(items[1], raters[1], "a")
    assert exported_items(campaign, tmp_path) == [items[0].pk, items[1].pk]
    assert exported_items(campaign, tmp_path, min_labels=2) == [items[1].pk]
    assert exported_items(campaign, tmp_path, min_labels=2, exclude_labellers=["rater1"]) == []


def test_min_agreement_drops_items_where_too_few_labels_agree(campaign, items, raters, tmp_path):
    for rater in raters[:3]:
        vote(items[0], rater, "a")  # 3 of 3
    vote(items[1], raters[0], "a")
    vote(items[1], raters[1], "a")
    vote(items[1], raters[2], "b")  # 2 of 3
    assert exported_items(campaign, tmp_path, min_agreement=0.6) == [items[0].pk, items[1].pk]
    assert exported_items(campaign, tmp_path, min_agreement=0.7) == [items[0].pk]
    rows = read_jsonl(tmp_path / "dpo.jsonl")
    assert rows[0]["agreement"] == 1.0


def test_excluding_a_labeller_can_flip_the_majority(campaign, items, raters, tmp_path):
    vote(items[0], raters[0], "a")
    vote(items[0], raters[1], "b")
    vote(items[0], raters[2], "b")
    out = tmp_path / "dpo.jsonl"
    export(campaign, "dpo", out)
    assert read_jsonl(out)[0]["chosen_candidate_id"] == items[0].slots.get(index=1).candidate_id
    export(campaign, "dpo", out, exclude_labellers=["rater1", "rater2"])
    assert read_jsonl(out)[0]["chosen_candidate_id"] == items[0].slots.get(index=0).candidate_id
    card = (tmp_path / "dpo.README.md").read_text()
    assert "rater1" not in card and labeller_pseudonym(raters[1].pk) in card  # the card names no one


def test_an_unknown_labeller_or_generator_is_named(campaign, items, tmp_path):
    with pytest.raises(ApplicationError, match="No labeller named 'nobody'") as raised:
        export(campaign, "dpo", tmp_path / "x.jsonl", exclude_labellers=["nobody"])
    assert raised.value.extra == {"field": "exclude_labellers"}
    with pytest.raises(ApplicationError, match=r"No generator named 'gpt-9' \(known: fake-model\)"):
        export(campaign, "dpo", tmp_path / "x.jsonl", generators=["gpt-9"])


def test_labellers_below_the_gold_accuracy_are_left_out(campaign, items, raters, tmp_path):
    careful, careless, untested = raters[0], raters[1], raters[2]
    gold = items[3]
    gold.is_gold, gold.gold_value = True, {"choice": "a"}
    gold.save()
    Label.objects.create(
        item=gold, labeller=careful, value={"choice": "a"}, idempotency_key="g1", gold_correct=True
    )
    Label.objects.create(
        item=gold, labeller=careless, value={"choice": "b"}, idempotency_key="g2", gold_correct=False
    )
    vote(items[0], careful, "a")
    vote(items[1], careless, "a")
    vote(items[2], untested, "a")
    assert exported_items(campaign, tmp_path, exclude_below_gold_accuracy=0.8) == [items[0].pk, items[2].pk]
    card = (tmp_path / "dpo.README.md").read_text()
    assert "gold accuracy 0% below 80%, 1 gold labels" in card
    assert exported_items(campaign, tmp_path) == [items[0].pk, items[1].pk, items[2].pk]  # gold item never


def test_ties_are_a_flag_column_never_two_opposite_pairs(campaign, items, raters, tmp_path):
    vote(items[0], raters[0], "tie")
    vote(items[1], raters[0], "a", "clear")
    assert exported_items(campaign, tmp_path) == [items[1].pk]
    for format in ("dpo", "rm", "hh-rlhf"):
        out = tmp_path / f"{format}.jsonl"
        export(campaign, format, out, include_ties=True)
        rows = {row["item_id"]: row for row in read_jsonl(out)}
        assert len(rows) == 2 and rows[items[0].pk]["tie"] is True and rows[items[1].pk]["tie"] is False
    assert read_jsonl(tmp_path / "rm.jsonl")[0]["margin"] == 0.0
    assert (
        exported_items(campaign, tmp_path, "kto", kto_from=["pairwise"], include_ties=True)
        == [items[1].pk] * 2
    )


def test_generator_keeps_items_whose_candidates_all_come_from_the_listed_generators(
    campaign, generator, raters, tmp_path
):
    other = Generator.objects.create(name="other-model", model="embedded")
    prompt = Prompt.objects.create(campaign=campaign, text="Q?")
    candidates_add(prompt, generator, ["fake 1", "fake 2"])
    candidates_add(prompt, other, ["other 1"])
    items_build(campaign=campaign, kind="pairwise", seed=3)  # fake-fake, fake-other twice
    for item in campaign.items.all():
        vote(item, raters[0], "a")

    def generators_of(**options):
        export(campaign, "dpo", tmp_path / "dpo.jsonl", **options)
        return sorted(
            sorted([r["chosen_generator"], r["rejected_generator"]])
            for r in read_jsonl(tmp_path / "dpo.jsonl")
        )

    assert generators_of(generators=["fake-model"]) == [["fake-model", "fake-model"]]
    both = [["fake-model", "fake-model"], ["fake-model", "other-model"], ["fake-model", "other-model"]]
    assert generators_of(generators=["fake-model", "other-model"]) == generators_of() == both
    assert generators_of(generators=["other-model"]) == []


def test_since_counts_only_labels_given_at_or_after_it(campaign, items, raters, tmp_path):
    old = vote(items[0], raters[0], "a")
    vote(items[1], raters[0], "a")
    Label.objects.filter(pk=old.pk).update(created_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    assert exported_items(campaign, tmp_path, since="2026-06-01") == [items[1].pk]
    assert exported_items(campaign, tmp_path, since="2025-12-31T23:00") == [items[0].pk, items[1].pk]


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"min_labels": 0}, "min_labels", "must be at least 1"),
        ({"min_labels": "two"}, "min_labels", "must be a number"),
        ({"min_agreement": 1.5}, "min_agreement", "between 0.0 and 1.0"),
        ({"test_fraction": 1}, "test_fraction", "below 1"),
        ({"since": "yesterday"}, "since", "ISO date"),
        ({"include_ties": "yes"}, "include_ties", "true or false"),
        ({"generators": [3]}, "generators", "list of names"),
        ({"colour": "red"}, "colour", "Unknown export option"),
    ],
)
def test_bad_options_name_their_field(options, field, message):
    with pytest.raises(ApplicationError, match=message) as raised:
        export_options_parse(options)
    assert raised.value.extra["field"] == field


def test_the_command_names_the_flag_of_a_bad_value(campaign, tmp_path):
    with pytest.raises(CommandError, match="--min-agreement: Field 'min_agreement' must be between"):
        call_command(
            "export_dataset", campaign="prefs", format="dpo", out=str(tmp_path / "x.jsonl"), min_agreement=2
        )
    with pytest.raises(CommandError, match="invalid choice: 'kto2'"):
        call_command("export_dataset", campaign="prefs", format="kto2", out=str(tmp_path / "x.jsonl"))
    with pytest.raises(CommandError, match=r"must end in \.jsonl or \.parquet, or be a folder"):
        call_command("export_dataset", campaign="prefs", format="dpo", out=str(tmp_path / "x.csv"))
    assert list(tmp_path.iterdir()) == []
