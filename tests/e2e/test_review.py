"""User story: two labellers disagreed on two pairs; a reviewer follows the Review link, reads both labels
under pseudonyms, and gives the final label of each by keyboard alone, with a rationale; the DPO export
then follows the reviewer."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from labelapp.exporters.pseudonyms import labeller_pseudonym
from labelapp.models import Adjudication, ReviewItem
from tests.conftest import PASSWORD
from tests.labelapp.services.test_reviews import disagree, reviewer


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_reviewer_adjudicates_two_items_by_keyboard(
    live_server, page: Page, page_errors: list[str], campaign, pairwise_items, raters, tmp_path: Path
):
    campaign.review_below = 0.75
    campaign.save()
    for item in pairwise_items[:2]:
        disagree(item, raters[0], raters[1])
    assert ReviewItem.objects.count() == 2
    rev = reviewer("reviewer")
    rev.set_password(PASSWORD)
    rev.save()

    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill(rev.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Review").click()
    expect(page).to_have_url(f"{live_server.url}/label/prefs/review/")

    wanted = {}  # item id -> the text the reviewer chose
    for turn in range(2):
        item_id = int(page.locator("#item").get_attribute("data-item-id"))
        rows = page.locator("tr.review-label")
        expect(rows).to_have_count(2)
        labels_shown = rows.all_inner_texts()
        for rater in raters[:2]:
            assert any(labeller_pseudonym(rater.pk) in row for row in labels_shown)
            assert not any(rater.username + "\t" in row for row in labels_shown)
        # The reviewer picks the "second answer" wherever it is shown.
        second = page.locator("article.candidate", has_text="second answer")
        wanted[item_id] = second.locator(".text").inner_text()
        page.keyboard.press("1" if second.get_attribute("data-position") == "A" else "2")
        page.keyboard.press("n")
        expect(page.locator("textarea[name=review_rationale]")).to_be_focused()
        page.keyboard.type(f"The second answer is right ({turn}).")
        page.keyboard.press("Enter")
        if turn == 0:
            page.wait_for_function(
                "old => { const id = document.querySelector('#item')?.dataset.itemId; return id && id !== old; }",
                arg=str(item_id),
            )
    expect(page.locator("#no-items")).to_be_visible()
    assert page_errors == []

    adjudications = {a.item_id: a for a in Adjudication.objects.select_related("item")}
    assert set(adjudications) == set(wanted) and not ReviewItem.objects.exists()
    for item_id, text in wanted.items():
        adjudication = adjudications[item_id]
        chosen = adjudication.item.slots.get(index="ab".index(adjudication.value["choice"])).candidate
        assert chosen.text == text and adjudication.rationale.startswith("The second answer is right")

    out = tmp_path / "dpo.jsonl"
    call_command("export_dataset", "--campaign", "prefs", "--format", "dpo", "--out", str(out))
    rows = {row["id"]: row for row in map(json.loads, out.read_text().splitlines())}
    for item_id, text in wanted.items():
        assert rows[f"prefs-{item_id}"]["chosen"] == text
