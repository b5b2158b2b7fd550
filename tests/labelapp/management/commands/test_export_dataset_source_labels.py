"""`export_dataset --labels source`: the imported datasets' own verdicts as a dataset of their own, never
mixed with human labels; an imported multi-turn dataset exported again keeps its turns."""

import json

import pytest
from django.core.management import CommandError
from trl.data_utils import is_conversational, maybe_extract_prompt

from labelapp.errors import ApplicationError
from labelapp.exporters.options import export_options_parse
from labelapp.models import SourceLabel
from tests.factories import export_rows
from tests.labelapp.importers.conftest import FILES, import_file, records


@pytest.fixture
def hh_campaign(campaign):
    import_file(FILES / "hh-rlhf.jsonl", campaign, "hh-rlhf")
    return campaign


def test_without_the_option_no_row_holds_a_source_label(hh_campaign, tmp_path):
    assert SourceLabel.objects.count() == 3
    assert export_rows(hh_campaign, "dpo", tmp_path / "human.jsonl") == []


def test_hh_rlhf_exported_from_its_source_labels_is_the_file_imported(hh_campaign, tmp_path):
    rows = export_rows(hh_campaign, "hh-rlhf", tmp_path / "hh.jsonl", labels="source")
    imported = records("hh-rlhf.jsonl")
    assert sorted((row["chosen"], row["rejected"]) for row in rows) == sorted(
        (row["chosen"], row["rejected"]) for row in imported
    )
    card = (tmp_path / "hh.README.md").read_text()
    assert "Human judgements" not in card and "by 1 sources" in card
    assert "- Labels: the imported datasets' own verdicts (source labels), not human labels." in card
    assert "--labels source" in card  # the command that makes it again


def test_dpo_rows_of_a_multi_turn_pair_are_trl_conversational(hh_campaign, tmp_path):
    rows = export_rows(hh_campaign, "dpo", tmp_path / "dpo.jsonl", labels="source")
    assert len(rows) == 3
    bread = next(row for row in rows if "bread" in json.dumps(row["prompt"]))
    assert [turn["role"] for turn in bread["prompt"]] == ["user", "assistant", "user"]
    assert bread["prompt"][1]["content"] == "Sure. Do you have yeast?"
    assert bread["chosen"][0]["role"] == "assistant" and bread["chosen"][0]["content"].startswith(
        "Great: mix"
    )
    assert bread["rejected"] == [{"role": "assistant", "content": "Just buy bread instead."}]
    for row in rows:
        trl_row = {key: row[key] for key in ("prompt", "chosen", "rejected")}
        assert is_conversational(trl_row)
        assert maybe_extract_prompt(trl_row) == trl_row


def test_raw_rows_name_the_source_not_a_labeller(hh_campaign, tmp_path):
    rows = export_rows(hh_campaign, "raw", tmp_path / "raw.jsonl", labels="source")
    assert {row["labeller"] for row in rows} == {"source:hh-rlhf"}
    assert all("-source-label-" in row["id"] for row in rows)
    assert {row["value"]["choice"] for row in rows} == set(
        SourceLabel.objects.values_list("value__choice", flat=True)
    )


@pytest.mark.parametrize(
    ("option", "value", "flag"),
    [("exclude_labeller", ["ann"], "--exclude-labeller"), ("since", "2026-01-01", "--since")],
)
def test_options_that_choose_among_labellers_are_refused_with_source_labels(
    hh_campaign, labeller, tmp_path, option, value, flag
):
    with pytest.raises(CommandError, match=flag) as refused:
        export_rows(hh_campaign, "dpo", tmp_path / "x.jsonl", labels="source", **{option: value})
    assert "no labeller" in str(refused.value)
    assert not (tmp_path / "x.jsonl").exists()


def test_an_unknown_labels_value_names_the_field():
    with pytest.raises(ApplicationError) as refused:
        export_options_parse({"labels": "robot"})
    assert refused.value.extra == {"field": "labels"} and "human or source or judge" in refused.value.message
