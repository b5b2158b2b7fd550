"""User stories: staff open the research reports (leaderboard, coherent but wrong, diversity) and see their
charts drawn, with the numbers beside them."""

import os

import pytest
from playwright.sync_api import Page, expect

from labelapp.models import Campaign, Item, ItemCandidate
from labelapp.reports import embeddings
from labelapp.services.embeddings import candidate_embeddings_compute
from tests.conftest import PASSWORD
from tests.labelapp.reports.seed import facts_campaigns, hashed_words, leaderboard_campaign, setwise_campaign

pytestmark = pytest.mark.e2e


def _log_in(page: Page, live_server, staff, campaign: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next=/manage/{campaign}/")
    page.fill("input[name=username]", staff.username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")


def test_staff_read_the_leaderboard_with_its_charts(
    live_server, page: Page, page_errors: list[str], staff, labeller, other_labeller, campaign
):
    leaderboard_campaign(campaign, [labeller, other_labeller])
    _log_in(page, live_server, staff, "prefs")
    page.get_by_role("link", name="Reports").click()
    page.get_by_role("link", name="Generator leaderboard").click()
    expect(page).to_have_url(f"{live_server.url}/manage/prefs/reports/leaderboard/")

    generators = page.locator("#board-1")
    chart = generators.locator("svg.interval-chart")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 60
    # One dot with a whisker per generator, best first, drawn where the table says.
    expect(chart.locator("circle.dot")).to_have_count(2)
    expect(chart.locator("line.whisker")).to_have_count(2)
    expect(chart.locator(".row-label")).to_have_text(["1. big", "2. small"])
    big_x = float(chart.locator("circle.dot").first.get_attribute("cx"))
    small_x = float(chart.locator("circle.dot").nth(1).get_attribute("cx"))
    assert big_x > small_x
    expect(generators.locator("table.leaderboard tbody tr").first).to_have_attribute("data-player", "big")

    grid = generators.locator("svg.heatmap")
    expect(grid).to_be_visible()
    expect(grid.locator("g.cell")).to_have_count(4)
    expect(grid.locator("text.cell-text")).to_contain_text(["", "90%", "10%", ""])
    expect(page.locator("#board-2 svg.interval-chart circle.dot")).to_have_count(3)
    if os.environ.get("REPORT_SCREENSHOT"):
        page.screenshot(path=os.environ["REPORT_SCREENSHOT"], full_page=True)
    assert page_errors == []


def test_staff_choose_a_coherence_campaign_and_read_the_coherent_but_wrong_chart(
    live_server, page: Page, page_errors: list[str], staff, labeller, other_labeller
):
    seeded = facts_campaigns([labeller, other_labeller])
    again = Campaign.objects.create(name="fluency-again", kind="coherence")
    answer = seeded.candidates["1 + 1 = 5."]
    item = Item.objects.create(campaign=again, kind="coherence", prompt=answer.prompt)
    ItemCandidate.objects.create(item=item, candidate=answer, index=0, position=0)
    _log_in(page, live_server, staff, "facts")
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("link", name="Generator leaderboard")).to_have_count(0)  # not a pairwise campaign
    page.get_by_role("link", name="Coherent but wrong").click()

    # Two coherence campaigns judge these answers: the page asks which one to join.
    expect(page.locator("svg.stacked-bars")).to_have_count(0)
    page.get_by_label("Coherence campaign").select_option("fluency")
    page.get_by_role("button", name="Show the report").click()
    expect(page).to_have_url(
        f"{live_server.url}/manage/facts/reports/coherent-but-wrong/?coherence_campaign=fluency"
    )

    chart = page.locator("svg.stacked-bars")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 80
    expect(chart.locator(".row-label")).to_have_text(["big (n = 4)", "small (n = 4)"])
    big, small = chart.locator("g.bar-row").all()
    # small: 1 incoherent, 2 coherent but wrong, 1 correct; big: 1, 1, 2.
    expect(small.locator("text.segment-text")).to_have_text(["25%", "50%", "25%"])
    expect(big.locator("text.segment-text")).to_have_text(["25%", "25%", "50%"])
    small_wrong = float(small.locator("rect.seg-wrong").get_attribute("width"))
    big_wrong = float(big.locator("rect.seg-wrong").get_attribute("width"))
    assert small_wrong == 2 * big_wrong
    expect(page.locator('tr[data-generator="small"] td').nth(3)).to_contain_text("50%")
    expect(page.locator("article.case")).to_have_count(3)
    expect(page.locator("article.case blockquote.critique")).to_have_text(["The sum is 2, not 5."])

    # The other coherence campaign, from the report itself.
    page.get_by_label("Coherence campaign").select_option("fluency-again")
    page.get_by_role("button", name="Join this one").click()
    expect(page.locator("strong.joined")).to_have_text("fluency-again")
    expect(page.locator("svg.stacked-bars text.segment-text")).to_have_count(0)
    assert page_errors == []


def test_staff_read_the_diversity_scatters_once_embeddings_are_stored(
    live_server, page: Page, page_errors: list[str], staff, labeller, other_labeller, monkeypatch
):
    monkeypatch.setattr(embeddings, "text_embeddings", hashed_words)
    sets = setwise_campaign([labeller, other_labeller])
    candidate_embeddings_compute(campaign=sets)
    _log_in(page, live_server, staff, "sets")
    page.goto(f"{live_server.url}/manage/sets/reports/diversity/")
    expect(page.locator(".embeddings")).to_contain_text("21 of 21 samples embedded")
    vendi = page.locator('figure[data-metric="vendi"]')
    expect(vendi.locator("svg.scatter circle.point")).to_have_count(6)
    expect(vendi.locator(".rho")).to_contain_text("n = 6")
    box = vendi.locator("svg.scatter").bounding_box()
    assert box and box["width"] > 200
    human = page.locator("#human svg.interval-chart")
    expect(human.locator("circle.dot")).to_have_count(3)
    expect(page.locator("#collapsed article.case")).to_have_count(2)
    if os.environ.get("REPORT_SCREENSHOT"):
        page.screenshot(
            path=os.environ["REPORT_SCREENSHOT"].replace(".png", "-diversity.png"), full_page=True
        )
    assert page_errors == []
