"""The AI judge: strict parsing, positions un-shuffled, stored apart from human labels, agreement by hand."""

import math
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

import inference
from labelapp.models import Campaign, Generator, JudgeLabel, Label
from labelapp.reports.judge import Verdict, judge_agreement
from labelapp.selectors.reports import judge_report_for
from labelapp.services.exports import dataset_export
from labelapp.services.jobs import job_retry
from labelapp.services.judge import JUDGE_PARAMS, items_judge, judge_job_create, verdict_parse
from tests.labelapp.reports.seed import (
    ScriptedCorrectnessJudge,
    ScriptedJudge,
    facts_campaigns,
    leaderboard_campaign,
)


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
    verdict = verdict_parse(raw)
    assert (verdict and verdict["choice"]) == parsed


def test_the_judge_sees_shown_positions_and_its_verdict_is_stored_canonical(seeded, scripted_judge):
    item = seeded.items[(0, "big-small03")]  # big is canonical "a", shown at position B (flipped)
    run = items_judge(campaign=seeded.campaign, generator=seeded.big, limit=1)
    assert (run.progress_done, run.parse_errors, run.items_remaining) == (1, 0, 15)
    as_shown, reversed_ = (request.messages[0]["content"] for request in scripted_judge.requests)
    assert as_shown.index("small at 0.3") < as_shown.index("big at 0.7")  # A (left) is small here
    assert reversed_.index("big at 0.7") < reversed_.index("small at 0.3")  # and swapped the second time
    label = JudgeLabel.objects.get(item=item, order_reversed=False)
    assert label.value["choice"] == "a"  # "Verdict: B" on screen, big, canonical index 0
    assert label.raw_output == " Verdict: B\n" and label.parse_error == ""
    assert label.params == JUDGE_PARAMS.to_dict() and label.params["temperature"] == 0.0
    assert label.confidence == pytest.approx(math.exp(-1.0))  # the scripted answer's logprob sum
    swapped = JudgeLabel.objects.get(item=item, order_reversed=True)
    assert (swapped.value["choice"], swapped.raw_output) == ("a", "Verdict: A")  # big again: consistent
    assert run.order_inconsistent == 0


def test_unparseable_answers_are_recorded_never_guessed(seeded, fake_generate):
    run = items_judge(campaign=seeded.campaign, generator=seeded.small)
    assert (run.progress_done, run.parse_errors, run.items_remaining) == (16, 32, 0)  # gold never judged
    assert JudgeLabel.objects.filter(value__isnull=True, confidence__isnull=True).count() == 32
    assert run.order_inconsistent == 0  # nothing parsed, so nothing to compare
    label = JudgeLabel.objects.first()
    assert label.raw_output.startswith("Answer 0 to: You are judging")
    assert "Verdict: A" in label.parse_error
    assert fake_generate.calls[0]["params"].stop == ("\n",)


def test_judging_again_judges_nothing_new_and_human_data_is_untouched(seeded, scripted_judge, tmp_path: Path):
    labels_before = list(Label.objects.values_list("pk", "value"))
    dataset_export(campaign=seeded.campaign, format="dpo", out=tmp_path / "before.jsonl")
    items_judge(campaign=seeded.campaign, generator=seeded.big)
    again = items_judge(campaign=seeded.campaign, generator=seeded.big)
    assert (again.progress_done, again.items_remaining) == (0, 0)
    assert JudgeLabel.objects.count() == 32  # 16 items, each in both orders
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
    assert (agreement.human_unlabelled, agreement.human_no_majority, agreement.human_outside_choices) == (
        1,
        1,
        0,
    )
    assert agreement.kappa.kappa == pytest.approx(13 / 46)
    assert agreement.kappa.confusion == ((7, 0, 2), (1, 0, 0), (0, 0, 1))


def test_agreement_leaves_out_both_bad():
    verdicts = [
        Verdict(item, False, answer, answer, None, None)
        for item, answer in {1: "a", 2: "b", 3: None, 4: "tie"}.items()
    ]
    result = judge_agreement("j", verdicts, {1: "a", 2: "both_bad", 3: "a"})
    assert (result.judged, result.parse_errors, result.compared) == (4, 1, 1)
    assert (result.human_outside_choices, result.human_unlabelled) == (1, 1)


def test_judge_items_command(seeded, scripted_judge):
    call_command("judge_items", "--campaign", "prefs", "--generator", "big", "--limit", "4")
    assert JudgeLabel.objects.count() == 8
    with pytest.raises(CommandError, match="Generator 'nobody' does not exist"):
        call_command("judge_items", "--campaign", "prefs", "--generator", "nobody")
    with pytest.raises(CommandError, match="'limit' must be at least 1"):
        call_command("judge_items", "--campaign", "prefs", "--generator", "big", "--limit", "0")


def test_a_campaign_without_pairwise_items_says_so(campaign, generator, fake_generate):
    with pytest.raises(CommandError, match="has no pairwise items to judge"):
        call_command("judge_items", "--campaign", "prefs", "--generator", generator.name)


def test_the_celery_task_runs_the_judge(seeded, scripted_judge, settings):
    from labelapp.tasks import judge_job_run_task

    job = judge_job_create(campaign=seeded.campaign, generator=seeded.big, limit=2)
    judge_job_run_task.apply(args=(job.pk,)).get()
    assert JudgeLabel.objects.count() == 4
    job.refresh_from_db()
    assert (job.status, job.progress_done, job.progress_total) == ("succeeded", 2, 2)
    assert settings.CELERY_TASK_ROUTES["labelapp.tasks.judge_job_run_task"] == {"queue": "inference"}


@pytest.fixture
def facts(labeller, other_labeller, monkeypatch):
    seeded = facts_campaigns([labeller, other_labeller])
    judge = ScriptedCorrectnessJudge()
    monkeypatch.setattr(inference, "generate", judge)
    monkeypatch.setattr(inference, "preload", lambda spec: None)
    return seeded, judge


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("Verdict: correct", "correct"),
        (" Verdict: incorrect\n", "incorrect"),
        ("Verdict: Correct", None),
        ("Verdict: correct.", None),
        ("Verdict: A", None),
        ("correct", None),
        ("Verdict: incorrect, because", None),
    ],
)
def test_correctness_verdicts_parse_strictly(raw, parsed):
    verdict = verdict_parse(raw, "correctness")
    assert (verdict and verdict["verdict"]) == parsed


def test_the_judge_grades_correctness_items_with_the_reference_answer(facts):
    seeded, judge = facts
    big = Generator.objects.get(name="big")
    run = items_judge(campaign=seeded.facts, generator=big)
    assert (run.progress_done, run.parse_errors, run.items_remaining) == (9, 2, 0)  # gold never judged
    first = judge.requests[0].messages[0]["content"]
    assert "[Prompt]\nWhat is 2 + 2?" in first and "[Reference answer]\n4\n" in first
    assert first.endswith('"Verdict: correct" or "Verdict: incorrect".')
    labels = {label.item.slots.get().candidate.text: label for label in JudgeLabel.objects.all()}
    assert labels["2 + 2 = 4."].value == {"verdict": "correct"}
    assert labels["1 + 1 = 5."].value == {"verdict": "incorrect"}
    unparsed = labels["3 + 3 = 7."]
    assert unparsed.value is None and "Verdict: correct" in unparsed.parse_error
    assert unparsed.raw_output == "Let me think about it."


def test_the_reference_answer_is_shown_only_where_labellers_see_it(facts):
    seeded, judge = facts
    seeded.facts.show_reference_answer = False
    seeded.facts.save()
    items_judge(campaign=seeded.facts, generator=Generator.objects.get(name="big"), limit=1)
    assert "[Reference answer]" not in judge.requests[0].messages[0]["content"]


def test_correctness_agreement_with_the_humans_by_hand(facts):
    # Compared (humans, judge): purple banana (incorrect, correct); 1 + 1 = 5 (incorrect, incorrect); and
    # 4 + 4 = 8, 2 + 2 = 4, 1 + 1 = 2, "8 8 8" (correct, correct). Left out: the two 3 + 3 answers (did
    # not parse) and 5 + 5 (humans split). p_o = 5/6; humans correct 4, incorrect 2; judge correct 5,
    # incorrect 1: p_e = (4 * 5 + 2 * 1) / 36; kappa = (30 - 22) / (36 - 22) = 4/7.
    seeded, _ = facts
    items_judge(campaign=seeded.facts, generator=Generator.objects.get(name="big"))
    report = judge_report_for(campaign=seeded.facts)
    assert (report.item_kind, report.choices) == ("correctness", ("correct", "incorrect"))
    (agreement,) = report.judges
    assert (agreement.judged, agreement.parse_errors, agreement.compared) == (9, 2, 6)
    assert (agreement.human_no_majority, agreement.human_outside_choices, agreement.human_unlabelled) == (
        1,
        0,
        0,
    )
    assert agreement.kappa.confusion == ((4, 0), (1, 1))
    assert agreement.kappa.kappa == pytest.approx(4 / 7)


def test_the_judge_page_of_a_correctness_campaign(facts, staff, client_for):
    seeded, _ = facts
    call_command("judge_items", "--campaign", "facts", "--generator", "big")
    page = client_for(staff).get("/manage/facts/reports/judge/").content.decode()
    assert 'data-judge="big"' in page and "κ = 0.571" in page
    assert "“Verdict: correct”, “Verdict: incorrect”" in page
    assert "humans: correct" in page and "Humans chose can’t tell" in page


def test_a_judge_cannot_label_other_kinds(db, generator, fake_generate):
    Campaign.objects.create(name="sets", kind="set-vs-set")
    with pytest.raises(
        CommandError,
        match="'sets' is a set-vs-set campaign: a judge labels pairwise, correctness, setwise or ranking items",
    ):
        call_command("judge_items", "--campaign", "sets", "--generator", generator.name)


class FailsOnce:
    """The scripted judge, except that the model call numbered `fail_on` raises as a crashed GPU does."""

    def __init__(self, judge: ScriptedJudge, fail_on: int) -> None:
        self.judge, self.fail_on, self.calls = judge, fail_on, 0

    def __call__(self, **kwargs):
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("GPU fell over")
        return self.judge(**kwargs)


def test_a_failed_judge_job_is_retried_and_resumes_within_its_limit(
    seeded, scripted_judge, staff, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from labelapp.tasks import judge_job_run_task

    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.setattr(inference, "generate", FailsOnce(scripted_judge, fail_on=2))
    job = judge_job_create(campaign=seeded.campaign, generator=seeded.big, limit=12)
    judge_job_run_task.apply(args=(job.pk,))
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "RuntimeError: GPU fell over")
    assert (job.progress_done, job.progress_total, JudgeLabel.objects.count()) == (
        8,
        12,
        16,
    )  # one call saved

    with django_capture_on_commit_callbacks(execute=True):
        job_retry(job=job, actor=staff)
    job.refresh_from_db()
    assert (job.status, job.error, job.progress_done, job.progress_total) == ("succeeded", "", 12, 12)
    assert (JudgeLabel.objects.count(), job.items_remaining) == (24, 4)  # 4 more items, not 12 more
    assert job.parse_errors == sum(1 for label in JudgeLabel.objects.all() if label.parse_error)


def test_a_judge_job_shows_its_progress_as_it_goes(seeded, scripted_judge):
    seen = []
    job = items_judge(
        campaign=seeded.campaign,
        generator=seeded.big,
        on_progress=lambda j: seen.append((j.progress_done, j.progress_total, j.parse_errors)),
    )
    assert seen == [(8, 16, 4), (16, 16, 6)]  # question 2's three items do not parse, in either order
    assert (job.status, job.started_at is not None, job.finished_at is not None) == ("succeeded", True, True)
