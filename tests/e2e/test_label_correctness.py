"""User story: an expert labels two answers for correctness with the keyboard only, unfolding the reference
answer when they want it, and the database holds what they meant."""

import pytest
from playwright.sync_api import Page, expect

from labelapp.models import Campaign, Label, Prompt
from labelapp.services.items import items_build
from tests.conftest import PASSWORD
from tests.factories import candidates_add


@pytest.fixture
def correctness_items(db, generator):
    campaign = Campaign.objects.create(
        name="facts", kind="correctness", labels_per_item=1, show_reference_answer=True
    )
    for question, answer, reference in (
        ("What is 2 + 2?", "It is 5.", "Four."),
        ("Capital of France?", "Paris.", "The capital is Paris."),
    ):
        prompt = Prompt.objects.create(campaign=campaign, text=question, reference_answer=reference)
        candidates_add(prompt, generator, [answer])
    items_build(campaign=campaign, kind="correctness", seed=1)
    return {item.pk: item for item in campaign.items.select_related("prompt")}


def _log_in(page: Page, live_server, labeller) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next=/label/facts/")
    page.get_by_label("Username").fill(labeller.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("article.candidate")).to_have_count(1)


def _next_item(page: Page, previous: str) -> None:
    page.wait_for_function(
        "old => { const id = document.querySelector('#item')?.dataset.itemId; return id && id !== old; }",
        arg=previous,
    )


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_labeller_judges_two_answers_by_keyboard(
    live_server, page: Page, page_errors: list[str], labeller, correctness_items
):
    _log_in(page, live_server, labeller)
    page.evaluate("window.__marker = 1")

    # Keyboard only from here on. First item: can't tell, then changed to incorrect, probably,
    # a reasoning error ("x 2"), and a critique.
    # The reference answer stays folded until asked for (v): seen first, it would bias the judgement.
    first = page.locator("#item").get_attribute("data-item-id")
    reference = correctness_items[int(first)].prompt.reference_answer
    shown_reference = page.locator("details.reference .text")
    expect(shown_reference).to_contain_text(reference)
    expect(shown_reference).to_be_hidden()
    page.keyboard.press("v")
    expect(shown_reference).to_be_visible()
    for key in ["3", "2", "w", "x", "2"]:
        page.keyboard.press(key)
    expect(page.locator("textarea[name=critique]")).to_have_value("")  # no key went into a text box
    expect(page.locator("input[name=verdict][value=incorrect]")).to_be_checked()
    expect(page.locator("input[name=confidence][value=probably]")).to_be_checked()
    expect(page.locator('input[name=error_category][value="reasoning error"]')).to_be_checked()
    page.keyboard.press("r")
    expect(page.locator("textarea[name=critique]")).to_be_focused()
    page.keyboard.type("Adds wrong.")
    page.keyboard.press("Enter")
    _next_item(page, first)

    # Second item: incorrect with a factual error, then correct (which clears the category), guessing.
    second = page.locator("#item").get_attribute("data-item-id")
    for key in ["2", "x", "1", "1", "e"]:
        page.keyboard.press(key)
    expect(page.locator("input[name=error_category]:checked")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(page.locator("#no-items")).to_be_visible()

    assert page.evaluate("window.__marker") == 1, "the page reloaded between items; htmx should swap #item"
    assert not page_errors
    stored = {label.item_id: label.value for label in Label.objects.filter(labeller=labeller)}
    assert stored == {
        int(first): {
            "verdict": "incorrect",
            "confidence": "probably",
            "error_category": "reasoning error",
            "critique": "Adds wrong.",
        },
        int(second): {"verdict": "correct", "confidence": "guessing", "error_category": None, "critique": ""},
    }
