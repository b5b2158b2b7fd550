"""`export_dataset --labels judge`: an AI judge's verdicts as an RLAIF dataset of their own, never mixed with
human labels; only verdicts the judge repeated with the answers in reverse order, unless asked."""

import re

import pytest
from datasets import load_dataset
from django.core.management import CommandError
from trl.data_utils import maybe_extract_prompt

import inference
from labelapp.models import Generator
from labelapp.services.judge import items_judge
from tests.factories import export_rows
from tests.labelapp.reports.seed import leaderboard_campaign


def prefers_big_and_says_a_otherwise(*, spec, requests, params, on_progress=None):
    """Picks big's answer wherever it is shown; between two of small's answers, always the first shown."""
    completions = []
    for index, request in enumerate(requests):
        a, b = re.findall(r"\[Response [AB]\]\n(.*)", request.messages[0]["content"])
        text = "Verdict: B" if b.startswith("big") else "Verdict: A"
        completions.append(inference.Completion(index, 0, text, "", "eos", 3, -0.05, None, 0))
    return completions


@pytest.fixture
def judged(campaign, labeller, other_labeller, monkeypatch):
    seeded = leaderboard_campaign(campaign, [labeller, other_labeller])
    monkeypatch.setattr(inference, "generate", prefers_big_and_says_a_otherwise)
    monkeypatch.setattr(inference, "preload", lambda spec: None)
    run = items_judge(campaign=campaign, generator=seeded.big)
    assert (run.progress_done, run.order_inconsistent) == (16, 5)  # the 5 small-vs-small items
    return seeded


def test_dpo_rows_of_the_judges_consistent_verdicts(judged, tmp_path):
    rows = export_rows(judged.campaign, "dpo", tmp_path / "rlaif.jsonl", labels="judge")
    # 11 big-vs-small items (prompts 0-4 twice, and prompt 6's, which no human labelled); none of small vs small.
    assert len(rows) == 11
    assert all(row["chosen"].startswith("big") and row["rejected"].startswith("small") for row in rows)
    dataset = load_dataset("json", data_files=str(tmp_path / "rlaif.jsonl"), split="train")
    assert {"prompt", "chosen", "rejected"} <= set(dataset.column_names) and len(dataset) == 11
    for row in dataset:
        assert maybe_extract_prompt(row)["prompt"] == row["prompt"]

    card = (tmp_path / "rlaif.README.md").read_text()
    assert "Human judgements" not in card and "human-feedback" not in card and "- ai-feedback" in card
    assert "AI feedback (RLAIF): the verdicts of an AI judge" in card and "by 1 judges." in card
    assert (
        "- Labels: an AI judge's verdicts (RLAIF), each in the order labellers see the answers, not human"
        in card
    )
    assert "only those the judge repeated with the answers in reverse order (order-consistent)" in card
    assert "--labels judge" in card


def test_order_inconsistent_verdicts_only_when_asked(judged, tmp_path):
    rows = export_rows(
        judged.campaign, "dpo", tmp_path / "all.jsonl", labels="judge", judge_inconsistent=True
    )
    assert len(rows) == 16
    card = (tmp_path / "all.README.md").read_text()
    assert "also those the judge did not repeat with the answers in reverse order" in card
    assert "--include-order-inconsistent" in card


def test_human_exports_never_hold_a_judge_verdict(judged, tmp_path):
    human = export_rows(judged.campaign, "raw", tmp_path / "human.jsonl")
    assert human and not any(str(row["labeller"]).startswith("judge:") for row in human)
    judge = export_rows(judged.campaign, "raw", tmp_path / "judge.jsonl", labels="judge")
    assert {row["labeller"] for row in judge} == {"judge:big"}
    assert all("-judge-label-" in row["id"] for row in judge)


def test_the_judge_to_export_is_named_when_several_judged(judged, tmp_path, monkeypatch):
    items_judge(campaign=judged.campaign, generator=judged.small)
    with pytest.raises(CommandError, match=r"Several AI judges judged campaign 'prefs' \(big, small\): name"):
        export_rows(judged.campaign, "dpo", tmp_path / "x.jsonl", labels="judge")
    with pytest.raises(CommandError, match="'nobody' did not judge campaign 'prefs'; its judges: big, small"):
        export_rows(judged.campaign, "dpo", tmp_path / "x.jsonl", labels="judge", judges=["nobody"])
    rows = export_rows(judged.campaign, "dpo", tmp_path / "small.jsonl", labels="judge", judges=["small"])
    assert len(rows) == 11


def test_judge_options_apply_to_judge_labels_only(judged, tmp_path):
    with pytest.raises(CommandError, match="--judge chooses among AI judges' verdicts"):
        export_rows(judged.campaign, "dpo", tmp_path / "x.jsonl", judges=["big"])
    with pytest.raises(
        CommandError, match="--since chooses among labellers' labels; --labels judge exports an"
    ):
        export_rows(judged.campaign, "dpo", tmp_path / "x.jsonl", labels="judge", since="2026-01-01")


def test_a_campaign_nobody_judged_says_so(campaign, tmp_path):
    Generator.objects.create(name="unused", model="embedded")
    with pytest.raises(
        CommandError, match="No AI judge has judged campaign 'prefs' yet: run judge_items first"
    ):
        export_rows(campaign, "dpo", tmp_path / "x.jsonl", labels="judge")
