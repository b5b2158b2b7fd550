"""Coherent-but-wrong and calibration reports, and the AI judge's agreement, on the seeded correctness and
coherence campaigns of tests/labelapp/reports/seed.py: counts by hand, every section in JSON and HTML,
the pages."""

import json
import math
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from labelapp.errors import ApplicationError
from labelapp.models import Campaign, Candidate, Item, ItemCandidate, Prompt
from labelapp.selectors.reports import coherence_campaigns_for, coherent_but_wrong_report_for
from labelapp.services.items import items_build
from tests.factories import candidates_add
from tests.labelapp.reports.seed import facts_campaigns


@pytest.fixture
def seeded(labeller, other_labeller):
    return facts_campaigns([labeller, other_labeller])


def _report(kind: str, out: Path, *extra: str, campaign: str = "facts") -> str:
    call_command("report", "--campaign", campaign, "--kind", kind, "--out", str(out), *extra)
    return out.read_text()


def _second_coherence_campaign(seeded) -> Campaign:
    """Another coherence campaign judging one of the same answers."""
    again = Campaign.objects.create(name="fluency-again", kind="coherence")
    item = Item.objects.create(
        campaign=again, kind="coherence", prompt=seeded.candidates["1 + 1 = 5."].prompt
    )
    ItemCandidate.objects.create(item=item, candidate=seeded.candidates["1 + 1 = 5."], index=0, position=0)
    return again


def test_coherent_but_wrong_counts_per_generator(seeded, tmp_path):
    data = json.loads(_report("coherent-but-wrong", tmp_path / "cbw.json"))
    assert (data["kind"], data["coherence_campaign"], data["coherence_campaigns"]) == (
        "coherent-but-wrong",
        "fluency",
        ["fluency"],
    )
    big, small = data["generators"]
    assert (small["generator"], small["judged"], small["missing_verdict"]) == ("small", 4, 1)
    counts = [small[key]["count"] for key in ("incoherent", "coherent_but_wrong", "correct")]
    assert counts == [1, 2, 1]
    assert small["coherent_but_wrong"]["rate"] == 0.5
    assert small["coherent_but_wrong"]["low"] < 0.5 < small["coherent_but_wrong"]["high"]
    assert [big[key]["count"] for key in ("incoherent", "coherent_but_wrong", "correct")] == [1, 1, 2]
    assert big["incoherent_but_correct"] == 1
    cases = {case["answer"]: case for case in data["cases"]}
    assert list(cases) == ["3 + 3 = 9.", "1 + 1 = 5.", "3 + 3 = 7."]  # big first, then small
    five = cases["1 + 1 = 5."]
    assert (five["prompt"], five["reference_answer"], five["critiques"]) == (
        "What is 1 + 1?",
        "2",
        ["The sum is 2, not 5."],
    )
    assert five["error_categories"] == {"factual error": 2}


def test_coherent_but_wrong_html_has_its_chart_table_and_cases(seeded, tmp_path):
    page = _report("coherent-but-wrong", tmp_path / "cbw.html")
    assert page.count('class="report-chart stacked-bars"') == 1
    # small: 1 incoherent, 2 coherent but wrong, 1 correct: 25%, 50%, 25% of the bar.
    assert "small (n = 4): 2 of 4 coherent but wrong (50%)" in page
    assert page.count('<article class="case"') == 3
    assert "The sum is 2, not 5." in page
    assert "<style>" in page and ".seg-wrong" in page


def test_the_coherence_campaign_is_chosen_when_there_are_several(seeded, tmp_path):
    _second_coherence_campaign(seeded)
    with pytest.raises(
        CommandError, match="choose the coherence campaign to join, one of fluency, fluency-again"
    ):
        _report("coherent-but-wrong", tmp_path / "cbw.json")
    data = json.loads(
        _report("coherent-but-wrong", tmp_path / "cbw.json", "--coherence-campaign", "fluency-again")
    )
    assert data["coherence_campaign"] == "fluency-again"
    # Nobody labelled the other campaign's one item: every answer lacks its coherence verdict.
    big, small = data["generators"]
    assert (big["judged"], big["missing_verdict"], small["judged"], small["missing_verdict"]) == (0, 4, 0, 5)
    assert data["cases"] == []
    with pytest.raises(
        CommandError, match=r"judging the answers of 'facts' \(fluency, fluency-again\), not 'prefs'"
    ):
        _report("coherent-but-wrong", tmp_path / "cbw.json", "--coherence-campaign", "prefs")


def test_a_report_of_another_campaign_kind_is_refused(seeded, tmp_path):
    with pytest.raises(
        CommandError, match="The diversity report reads setwise campaigns; 'facts' is a correctness"
    ):
        _report("diversity", tmp_path / "d.json")
    with pytest.raises(CommandError, match="reads correctness campaigns; 'fluency' is a coherence campaign"):
        _report("calibration", tmp_path / "c.json", campaign="fluency")


def test_calibration_by_hand(seeded, tmp_path):
    data = json.loads(_report("calibration", tmp_path / "calibration.json"))
    # Model: 9 answers; "5 + 5" has no verdict (split), "8 8 8" no logprobs. The other 7 by bin:
    # 0.32 wrong | 0.62 wrong | 0.81 right, 0.85 wrong | 0.91 wrong, 0.92 right, 0.95 right.
    assert (data["candidates"], data["without_verdict"], data["without_logprobs"]) == (9, 1, 1)
    model = data["model"]
    assert model["count"] == 7
    assert [b["count"] for b in model["bins"]] == [0, 0, 0, 1, 0, 0, 1, 0, 2, 3]
    assert model["bins"][8]["correct"]["rate"] == 0.5
    ece = (0.32 + 0.62 + 2 * abs(0.83 - 0.5) + 3 * abs((0.91 + 0.92 + 0.95) / 3 - 2 / 3)) / 7
    assert model["ece"] == pytest.approx(ece)
    assert [g["generator"] for g in data["by_generator"]] == ["big", "small"]
    assert data["by_generator"][0]["model"]["count"] == 3
    # Labellers: 18 labels checked against the other labeller, 2 against the gold answer. Certain: 9
    # labels, wrong on the split answer only; probably: 10, wrong on gold only; guessing: 1, wrong.
    assert (data["labels_against_others"], data["labels_against_gold"]) == (18, 2)
    levels = {level["confidence"]: level for level in data["labeller_levels"]}
    assert (levels["certain"]["agrees"]["count"], levels["certain"]["agrees"]["total"]) == (8, 9)
    assert (levels["probably"]["agrees"]["count"], levels["probably"]["agrees"]["total"]) == (9, 10)
    assert (levels["guessing"]["agrees"]["count"], levels["guessing"]["agrees"]["total"]) == (0, 1)
    assert levels["certain"]["probability"] == 0.95
    labeller = data["labeller"]
    assert [b["count"] for b in labeller["bins"]] == [0, 0, 0, 0, 0, 1, 0, 10, 0, 9]
    assert labeller["ece"] == pytest.approx((0.55 + 10 * abs(0.75 - 0.9) + 9 * abs(0.95 - 8 / 9)) / 20)


def test_calibration_html_draws_two_kinds_of_reliability_diagram(seeded, tmp_path):
    page = _report("calibration", tmp_path / "calibration.html")
    # Every generator together, one per generator (big, small), and the labellers.
    assert page.count('class="report-chart reliability"') == 4
    assert 'data-source="model"' in page and 'data-source="labellers"' in page
    assert re.search(r"ECE = 0\.\d{3}", page)
    assert page.count('<tr data-confidence="') == 3


def test_report_pages_of_a_correctness_campaign(seeded, staff, client_for):
    staff_client = client_for(staff)
    index = staff_client.get("/manage/facts/reports/").content.decode()
    for kind in ("coherent-but-wrong", "calibration", "judge"):
        assert f'href="/manage/facts/reports/{kind}/"' in index
    assert "/manage/facts/reports/leaderboard/" not in index
    for kind in ("coherent-but-wrong", "calibration", "judge"):
        response = staff_client.get(f"/manage/facts/reports/{kind}/")
        assert response.status_code == 200, kind
        assert not re.search(r"<style|style=|<script>|<script(?![^>]*src=)", response.content.decode())
    refused = staff_client.get("/manage/facts/reports/leaderboard/")
    assert refused.status_code == 400 and "reads pairwise" in refused.content.decode()


def test_the_page_offers_the_coherence_campaigns_to_join(seeded, staff, client_for):
    _second_coherence_campaign(seeded)
    staff_client = client_for(staff)
    choose = staff_client.get("/manage/facts/reports/coherent-but-wrong/")
    assert choose.status_code == 200
    page = choose.content.decode()
    assert '<select name="coherence_campaign">' in page
    assert "<option>fluency</option><option>fluency-again</option>" in page
    assert "stacked-bars" not in page
    joined = staff_client.get("/manage/facts/reports/coherent-but-wrong/?coherence_campaign=fluency")
    page = joined.content.decode()
    assert joined.status_code == 200 and 'class="report-chart stacked-bars"' in page
    assert "<option selected>fluency</option>" in page  # switch to the other one from the report
    assert "--coherence-campaign fluency --out" in page
    wrong = staff_client.get("/manage/facts/reports/coherent-but-wrong/?coherence_campaign=nope")
    assert wrong.status_code == 400 and "not &#x27;nope&#x27;" in wrong.content.decode()


def test_without_a_coherence_campaign_the_page_says_how_to_build_one(seeded, staff, client_for):
    Item.objects.filter(campaign=seeded.fluency).delete()
    page = client_for(staff).get("/manage/facts/reports/coherent-but-wrong/").content.decode()
    assert "No coherence campaign judges the answers of" in page and "--source-campaign facts" in page


def test_campaigns_built_from_a_third_campaigns_candidates_are_joined(seeded, generator):
    # As the demo does: correctness and coherence campaigns both judging one pool of candidates.
    pool = Campaign.objects.create(name="pool")
    prompt = Prompt.objects.create(campaign=pool, text="Name a prime.")
    candidates_add(prompt, generator, ["7", "9"])
    graded = Campaign.objects.create(name="graded", kind="correctness")
    read = Campaign.objects.create(name="read", kind="coherence")
    items_build(campaign=graded, kind="correctness", source_campaign=pool)
    items_build(campaign=read, kind="coherence", source_campaign=pool)
    assert coherence_campaigns_for(campaign=graded) == ["read"]
    assert coherence_campaigns_for(campaign=seeded.facts) == ["fluency"]
    Item.objects.filter(campaign=read).delete()
    with pytest.raises(ApplicationError, match="--source-campaign pool"):
        coherent_but_wrong_report_for(campaign=graded, coherence_campaign=None)


def test_model_confidence_is_exp_mean_logprob(seeded):
    candidate = Candidate.objects.get(text="2 + 2 = 4.")
    assert math.exp(candidate.logprob_mean) == pytest.approx(0.92)


def test_the_selectors_read_in_a_fixed_number_of_queries(seeded, django_assert_num_queries):
    from labelapp.selectors.reports import calibration_report_for

    # Campaigns built from it, the one joined, both campaigns' labels, the cases' critiques and texts.
    with django_assert_num_queries(6):
        coherent_but_wrong_report_for(campaign=seeded.facts, coherence_campaign=None)
    with django_assert_num_queries(3):  # labels, gold answers, the answers' generators and logprobs
        calibration_report_for(campaign=seeded.facts)
