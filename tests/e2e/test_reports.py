"""User story: staff open the generator leaderboard and see its charts drawn, with the numbers beside them."""

import os

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.labelapp.reports.seed import leaderboard_campaign

pytestmark = pytest.mark.e2e


def test_staff_read_the_leaderboard_with_its_charts(
    live_server, page: Page, page_errors: list[str], staff, labeller, other_labeller, campaign
):
    leaderboard_campaign(campaign, [labeller, other_labeller])
    page.goto(f"{live_server.url}/accounts/login/?next=/manage/prefs/")
    page.fill("input[name=username]", staff.username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
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
