"""Labeller calibration on gold items: the confidence stated through the API and the page, the report
(builder, command, page) and the dashboard's column."""

import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from labelapp.models import Item, Label, Prompt
from labelapp.selectors.dashboard import campaign_dashboard
from labelapp.selectors.reports import labeller_calibration_report_for
from tests.factories import candidates_add


def gold_items(campaign, generator, count):
    items = []
    for number in range(count):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Gold {number}?")
        candidates_add(prompt, generator, [f"good {number}", f"bad {number}"])
        item = Item.objects.create(
            campaign=campaign, kind="pairwise", prompt=prompt, is_gold=True, gold_value={"choice": "a"}
        )
        for index, candidate in enumerate(prompt.candidates.order_by("sample_index")):
            item.slots.create(candidate=candidate, index=index, position=index)
        items.append(item)
    return items


@pytest.fixture
def calibrated(campaign, generator, labeller, other_labeller):
    """labeller1: certain 9 of 10 right, probably 2 of 4, guessing 3 of 6 (ECE 0.09); labeller2: probably
    on 4 gold items, 3 right (ECE 0); and one gold label of labeller2 without a confidence."""
    items = gold_items(campaign, generator, 21)
    plan = [("certain", 9, 10), ("probably", 2, 4), ("guessing", 3, 6)]
    stated = [(level, n < right) for level, right, total in plan for n in range(total)]
    for item, (level, right) in zip(items, stated, strict=False):
        Label.objects.create(
            item=item,
            labeller=labeller,
            value={"choice": "a" if right else "b", "confidence": level},
            gold_correct=right,
            idempotency_key=str(item.pk),
        )
    for number, item in enumerate(items[:5]):
        value = {"choice": "a" if number != 1 else "b"} | ({"confidence": "probably"} if number < 4 else {})
        Label.objects.create(
            item=item,
            labeller=other_labeller,
            value=value,
            gold_correct=number != 1,
            idempotency_key=str(item.pk),
        )
    return campaign


def test_each_labeller_gets_a_reliability_table_and_ece(calibrated):
    report = labeller_calibration_report_for(campaign=calibrated)
    first, second = report.labellers
    assert (first.labeller, first.gold_labels) == ("labeller1", 20)
    assert [lv.agrees.count for lv in first.levels] == [9, 2, 3]
    assert first.reliability.ece == pytest.approx(0.09)
    assert (second.labeller, second.gold_labels, second.reliability.ece) == ("labeller2", 4, pytest.approx(0))
    assert report.gold_labels_without_confidence == 1


def test_the_dashboard_shows_each_labellers_ece_and_gold_count(calibrated, staff, client_for):
    rows = {row.username: row for row in campaign_dashboard(campaign=calibrated).labellers}
    assert (rows["labeller1"].calibration_ece, rows["labeller1"].calibration_gold_labels) == (
        pytest.approx(0.09),
        20,
    )
    assert rows["labeller2"].calibration_gold_labels == 4
    page = client_for(staff).get("/manage/prefs/dashboard/").content.decode()
    assert '<td class="num calibration">0.09 <span class="muted">of 20 gold</span></td>' in page


def test_the_command_and_page_show_the_report(calibrated, staff, client_for, tmp_path):
    out = tmp_path / "c.json"
    call_command("report", "--campaign", "prefs", "--kind", "labeller-calibration", "--out", str(out))
    data = json.loads(out.read_text())
    assert [entry["labeller"] for entry in data["labellers"]] == ["labeller1", "labeller2"]
    assert data["labellers"][0]["reliability"]["ece"] == pytest.approx(0.09)
    page = client_for(staff).get("/manage/prefs/reports/labeller-calibration/").content.decode()
    assert 'data-labeller="labeller1"' in page and "ECE = 0.090" in page


def test_a_confidence_stated_through_the_api_is_scored_on_gold(campaign, generator, labeller):
    campaign.gold_rate = 1.0
    campaign.save()
    [item] = gold_items(campaign, generator, 1)
    api = APIClient()
    api.force_authenticate(labeller)
    leased = api.post("/api/v1/campaigns/prefs/next-item/").json()["item"]
    pressed = "ab"[[c["text"] for c in leased["candidates"]].index("good 0")]
    response = api.post(
        f"/api/v1/items/{item.pk}/labels/",
        {"value": {"choice": pressed, "confidence": "certain"}, "idempotency_key": "k"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["value"]["confidence"] == "certain"
    (entry,) = labeller_calibration_report_for(campaign=campaign).labellers
    assert [lv.agrees.count for lv in entry.levels] == [1, 0, 0]
    assert entry.reliability.ece == pytest.approx(0.05)
