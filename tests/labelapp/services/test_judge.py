"""The AI judge: strict parsing, positions un-shuffled, stored apart from human labels, agreement by hand."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

import inference
from labelapp.models import JudgeLabel, Label
from labelapp.reports.judge import judge_agreement
from labelapp.selectors.reports import judge_report_for
from labelapp.services.exports import dataset_export
from labelapp.services.judge import JUDGE_PARAMS, items_judge, verdict_parse
from tests.labelapp.reports.seed import ScriptedJudge, leaderboard_campaign


@pytest.fixture
def seeded(campaign, labeller, other_labeller):
    return leaderboard_campaign(campaign, [labeller, other_labeller])


@pytest.fixture
def scripted_judge(monkeypatch) -> ScriptedJudge:
    judge = ScriptedJudge()
    monkeypatch.setattr(inference, "generate", judge)
    monkeypatch.setattr(inference, "preload", lambda spec: None)
    return judge


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("Verdict: A", "a"),
        ("  Verdict: B\n", "b"),
        ("Verdict: tie", "tie"),
        ("verdict: A", None),
        ("Verdict: A.", None),
        ("Verdict: A because it is right", None),
        ("A", None),
        ("I prefer Verdict: B", None),
        ("", None),
    ],
)
def test_verdicts_parse_strictly(raw, parsed):
    assert verdict_parse(raw) == parsed


def test_the_judge_sees_shown_positions_and_its_verdict_is_stored_canonical(seeded, scripted_judge):
    item = seeded.items[(0, "big-small03")]  # big is canonical "a", shown at position B (flipped)
    run = items_judge(campaign=seeded.campaign, generator=seeded.big, limit=1)
    assert (run.judged, run.parse_errors, run.remaining) == (1, 0, 15)
    content = scripted_judge.requests[0].messages[0]["content"]
    assert content.index("small at 0.3") < content.index("big at 0.7")  # A (left) is small here
    label = JudgeLabel.objects.get(item=item)
    assert label.value["choice"] == "a"  # "Verdict: B" on screen, big, canonical index 0
    assert label.raw_output == " Verdict: B\n" and label.parse_error == ""
    assert label.params == JUDGE_PARAMS.to_dict() and label.params["temperature"] == 0.0


def test_unparseable_answers_are_recorded_never_guessed(seeded, fake_generate):
    run = items_judge(campaign=seeded.campaign, generator=seeded.small)
    assert (run.judged, run.parse_errors, run.remaining) == (16, 16, 0)  # gold item never judged
    assert JudgeLabel.objects.filter(value__isnull=True).count() == 16
    label = JudgeLabel.objects.first()
    assert label.raw_output.startswith("Answer 0 to: You are judging")
    assert "Verdict: A" in label.parse_error
    assert fake_generate.calls[0]["params"].stop == ("\n",)


def test_judging_again_judges_nothing_new_and_human_data_is_untouched(seeded, scripted_judge, tmp_path: Path):
    labels_before = list(Label.objects.values_list("pk", "value"))
    dataset_export(campaign=seeded.campaign, format="dpo", out=tmp_path / "before.jsonl")
    items_judge(campaign=seeded.campaign, generator=seeded.big)
    again = items_judge(campaign=seeded.campaign, generator=seeded.big)
    assert (again.judged, again.remaining) == (0, 0)
    assert JudgeLabel.objects.count() == 16
    assert list(Label.objects.values_list("pk", "value")) == labels_before
    dataset_export(campaign=seeded.campaign, format="dpo", out=tmp_path / "after.jsonl")
    assert (tmp_path / "after.jsonl").read_text() == (tmp_path / "before.jsonl").read_text()


def test_agreement_with_the_humans_by_hand(seeded, scripted_judge):
    # Compared (human, judge), canonical: big-vs-small on prompts 0, 1, 3, 4: (a, a) x 7 and (b, a) once;
    # small-vs-small: (a, tie) x 2 on prompts 0 and 1, (tie, tie) on 3; prompt 4's is split, prompt 2's
    # answers did not parse, prompt 6's item has no human label. p_o = 8/11; humans a 9, b 1, tie 1;
    # judge a 8, tie 3: p_e = (9*8 + 1*3) / 121 = 75/121; kappa = (88 - 75) / (121 - 75) = 13/46.
    items_judge(campaign=seeded.campaign, generator=seeded.big)
    (agreement,) = judge_report_for(campaign=seeded.campaign).judges
    assert agreement.judge == "big"
    assert (agreement.judged, agreement.parse_errors, agreement.compared) == (16, 3, 11)
    assert (agreement.human_unlabelled, agreement.human_no_majority, agreement.human_both_bad) == (1, 1, 0)
    assert agreement.kappa.kappa == pytest.approx(13 / 46)
    assert agreement.kappa.confusion == ((7, 0, 2), (1, 0, 0), (0, 0, 1))


def test_agreement_leaves_out_both_bad():
    result = judge_agreement("j", {1: "a", 2: "b", 3: None, 4: "tie"}, {1: "a", 2: "both_bad", 3: "a"})
    assert (result.judged, result.parse_errors, result.compared) == (4, 1, 1)
    assert (result.human_both_bad, result.human_unlabelled) == (1, 1)


def test_judge_items_command(seeded, scripted_judge):
    call_command("judge_items", "--campaign", "prefs", "--generator", "big", "--limit", "4")
    assert JudgeLabel.objects.count() == 4
    with pytest.raises(CommandError, match="Generator 'nobody' does not exist"):
        call_command("judge_items", "--campaign", "prefs", "--generator", "nobody")
    with pytest.raises(CommandError, match="'limit' must be at least 1"):
        call_command("judge_items", "--campaign", "prefs", "--generator", "big", "--limit", "0")


def test_a_campaign_without_pairwise_items_says_so(campaign, generator, fake_generate):
    with pytest.raises(CommandError, match="has no pairwise items to judge"):
        call_command("judge_items", "--campaign", "prefs", "--generator", generator.name)


def test_the_celery_task_runs_the_judge(seeded, scripted_judge, settings):
    from labelapp.tasks import items_judge_task

    items_judge_task.apply(args=(seeded.campaign.pk, seeded.big.pk, 2)).get()
    assert JudgeLabel.objects.count() == 2
    assert settings.CELERY_TASK_ROUTES["labelapp.tasks.items_judge_task"] == {"queue": "inference"}
