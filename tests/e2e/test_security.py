"""In a real browser: hostile prompts, completions, instructions and rationales run no script on any page
(no dialog opens, nothing sets a global), every page passes the Content-Security-Policy (the page fixture
fails the test on a violation), and too many failed logins show the lockout on the login page."""

import pytest
from playwright.sync_api import Page, expect

from labelapp.models import Campaign, Candidate, Label, Prompt
from tests.conftest import PASSWORD
from tests.system.test_xss import hostile  # noqa: F401 - the fixture


def log_in(page: Page, live_server, username: str, path: str) -> None:
    page.goto(f"{live_server.url}{path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}{path}")


def assert_inert(page: Page, page_errors: list[str], where: str) -> None:
    page.wait_for_load_state("load")
    page.wait_for_timeout(200)  # an onerror or ontoggle handler would have run by now
    assert page.evaluate("window.__xss") is None, f"{where}: injected script ran"  # RAW_HTML sets it
    assert not page_errors, f"{where}: {page_errors}"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_hostile_text_runs_no_script_while_a_labeller_labels(
    live_server,
    page: Page,
    page_errors: list[str],
    hostile,  # noqa: F811
    labeller,
):
    with page.expect_response(lambda r: r.url.endswith("/label/xss-pairwise/")) as answer:
        log_in(page, live_server, labeller.username, "/label/xss-pairwise/")
    policy = answer.value.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy  # so the test means something
    expect(page.locator("article.candidate").first).to_contain_text("MARK-completion")
    expect(page.locator("article.candidate").first).to_contain_text('<script>alert("xss")</script>')
    assert_inert(page, page_errors, "label page")

    page.keyboard.press("?")  # the instructions, Markdown with hostile HTML in it
    expect(page.locator("#instructions")).to_have_attribute("open", "")
    page.keyboard.press("1")
    first = page.locator("#item").get_attribute("data-item-id")
    page.keyboard.press("Enter")  # htmx swaps the next hostile item in
    page.wait_for_function("old => document.querySelector('#item')?.dataset.itemId !== old", arg=first)
    expect(page.locator("article.candidate").first).to_contain_text("MARK-completion")
    assert_inert(page, page_errors, "the next item, swapped in by htmx")

    page.goto(f"{live_server.url}/label/xss-ranking/")
    expect(page.locator("article.candidate")).to_have_count(4)
    assert_inert(page, page_errors, "ranking page")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_hostile_text_runs_no_script_on_the_staff_pages(
    live_server,
    page: Page,
    page_errors: list[str],
    hostile,  # noqa: F811
    staff,
):
    label = Label.objects.get()
    prompt = Prompt.objects.filter(campaign__name="xss-pairwise").first()
    candidate = Candidate.objects.filter(prompt=prompt).first()
    pairwise = Campaign.objects.get(name="xss-pairwise")
    log_in(page, live_server, staff.username, "/")
    paths = [
        "/",
        "/manage/xss-pairwise/",
        "/manage/xss-pairwise/dashboard/",
        "/manage/xss-ranking/",
        "/manage/xss-pairwise/reports/",
        "/manage/xss-pairwise/reports/leaderboard/",
        "/manage/xss-pairwise/reports/judge/",
        "/admin/",
        "/admin/labelapp/campaign/",
        f"/admin/labelapp/campaign/{pairwise.pk}/change/",
        "/admin/labelapp/prompt/",
        f"/admin/labelapp/candidate/{candidate.pk}/change/",
        "/admin/labelapp/label/",
        f"/admin/labelapp/label/{label.pk}/change/",
        "/admin/labelapp/skip/",
        "/admin/labelapp/labellerprofile/",
        "/admin/labelapp/generationjob/",
        "/admin/labelapp/judgelabel/",
        "/admin/labelapp/auditentry/",
    ]
    for path in paths:
        page.goto(f"{live_server.url}{path}")
        assert_inert(page, page_errors, path)
    expect(page.locator("body")).to_contain_text("label.change")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_too_many_failed_logins_show_the_lockout_on_the_login_page(
    live_server, page: Page, page_errors: list[str], labeller, settings
):
    page.goto(f"{live_server.url}/accounts/login/")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Username").fill(labeller.username)
        page.get_by_label("Password").fill(f"wrong {attempt}")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("load")
    page.get_by_label("Username").fill(labeller.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#locked-out")).to_contain_text("Too many failed logins for this account")
    expect(page.locator("#locked-out")).to_contain_text("Try again in 15 minutes")
    assert set(page_errors) == {f"HTTP 429: POST {live_server.url}/accounts/login/"}  # the lockout, only
