"""The position-bias report on constructed labels: the builder, the command (JSON and HTML) and the page."""

import json

import pytest
from django.core.management import call_command

from labelapp.models import Campaign, Generator, Item, ItemCandidate, JudgeLabel, Label, Prompt
from labelapp.selectors.reports import position_bias_report_for
from labelapp.services.labellers import user_upsert
from tests.conftest import PASSWORD
from tests.factories import candidates_add


def items_of(campaign: Campaign, generator: Generator, count: int, size: int) -> list[Item]:
    """Items whose own (the judge's) order alternates: even items show index 0 first, odd ones index 1."""
    kind = "pairwise" if size == 2 else "ranking"
    items = []
    for number in range(count):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Q{number}?")
        candidates = candidates_add(prompt, generator, [f"answer {n} to {number}" for n in range(size)])
        item = Item.objects.create(campaign=campaign, kind=kind, prompt=prompt)
        shift = number % 2
        for index, candidate in enumerate(candidates):
            ItemCandidate.objects.create(
                item=item, candidate=candidate, index=index, position=(index + shift) % size
            )
        items.append(item)
    return items


def label(item, labeller, value, shown_order):
    Label.objects.create(
        item=item, labeller=labeller, value=value, shown_order=shown_order, idempotency_key=str(item.pk)
    )


@pytest.fixture
def biased(campaign, generator, labeller, other_labeller):
    """20 pairs. labeller1 picks the first shown in 15 of 17 sided picks (3 ties); labeller2 in 10 of 20;
    labeller3 in all 20; the judge prefers canonical "a", shown first on the even items: 10 of 20. One label
    without a known shown order is left out."""
    third = user_upsert(username="labeller3", password=PASSWORD)
    items = items_of(campaign, generator, 20, 2)
    for number, item in enumerate(items):
        order = [number % 2, 1 - number % 2]  # canonical index shown first, second
        first, second = "ab"[order[0]], "ab"[order[1]]  # the canonical choice of the first, second shown
        label(item, labeller, {"choice": "tie" if number >= 17 else first if number < 15 else second}, order)
        label(item, other_labeller, {"choice": first if number < 10 else second}, order)
        label(item, third, {"choice": first}, order)
        JudgeLabel.objects.create(item=item, generator=generator, value={"choice": "a"})
    Label.objects.create(
        item=items[0],
        labeller=user_upsert(username="old", password=PASSWORD),
        value={"choice": "a"},
        idempotency_key="old",
    )
    return campaign


def test_each_labeller_and_judge_gets_the_share_of_first_picks_and_an_exact_test(biased):
    report = position_bias_report_for(campaign=biased)
    rows = {r.rater: r for r in report.raters}
    assert [(r.rater_kind, r.rater) for r in report.raters] == [
        ("labeller", "labeller1"),
        ("labeller", "labeller2"),
        ("labeller", "labeller3"),
        ("judge", "fake-model"),
    ]
    assert (rows["labeller1"].decisions, rows["labeller1"].first.count) == (17, 15)
    assert rows["labeller1"].p_value == pytest.approx(
        2 * (1 + 17 + 136) / 2**17
    )  # P(X >= 15), X ~ Bin(17, .5)
    assert (rows["labeller2"].first.count, rows["labeller2"].p_value) == (10, 1.0)
    assert (rows["labeller3"].first.count, rows["labeller3"].p_value) == (20, pytest.approx(2 / 2**20))
    assert (rows["fake-model"].decisions, rows["fake-model"].first.count) == (20, 10)
    assert report.look_at == ("labeller3", "labeller1")
    assert report.labels_without_position == 4  # three ties and the label with no known order


def test_on_a_ranking_the_first_shown_ranked_best_is_tested_against_one_in_n(campaign, generator, labeller):
    campaign.kind = "ranking"
    campaign.save()
    for number, item in enumerate(items_of(campaign, generator, 10, 4)):
        shown = [(number + n) % 4 for n in range(4)]
        best = shown[0] if number < 8 else shown[2]
        label(item, labeller, {"order": [best] + [i for i in shown if i != best]}, shown)
    (row,) = position_bias_report_for(campaign=campaign).raters
    assert (row.decisions, row.first.count, row.expected) == (10, 8, 0.25)
    assert row.p_value == pytest.approx((45 * 9 + 10 * 3 + 1) / 4**10)


def test_the_command_writes_json_and_html_and_the_page_shows_the_raters(biased, staff, client_for, tmp_path):
    call_command(
        "report", "--campaign", "prefs", "--kind", "position-bias", "--out", str(tmp_path / "r.json")
    )
    data = json.loads((tmp_path / "r.json").read_text())
    assert (data["kind"], data["correction"], data["look_at"]) == (
        "position-bias",
        "Holm",
        ["labeller3", "labeller1"],
    )
    assert [r["first"]["count"] for r in data["raters"]] == [15, 10, 20, 10]
    call_command(
        "report", "--campaign", "prefs", "--kind", "position-bias", "--out", str(tmp_path / "r.html")
    )
    html = (tmp_path / "r.html").read_text()
    assert html.count('class="report-chart interval-chart"') == 1 and "<script" not in html
    page = client_for(staff).get("/manage/prefs/reports/position-bias/").content.decode()
    assert '<tr data-rater="labeller3" data-rater-kind="labeller">' in page
    assert '<ul class="look-at"><li>labeller3</li><li>labeller1</li></ul>' in page
