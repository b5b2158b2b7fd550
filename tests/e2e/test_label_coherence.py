"""User story: a labeller who cannot judge the facts labels two answers for coherence with the keyboard
only; the reference answer stays hidden, and the database holds what they meant."""

import pytest
from playwright.sync_api import Page, expect

from labelapp.models import Campaign, Label, Prompt
from labelapp.services.items import items_build
from tests.conftest import PASSWORD
from tests.factories import candidates_add


@pytest.fixture
def coherence_items(db, generator):
    # The answers belong to a correctness campaign; the coherence campaign judges the same candidates.
    facts = Campaign.objects.create(name="facts", kind="correctness", show_reference_answer=True)
    fluency = Campaign.objects.create(
        name="fluency", kind="coherence", labels_per_item=1, show_reference_answer=True
    )
    for question, answer in (("What is 2 + 2?", "Four purple because yes."), ("Say hi.", "Hi there!")):
        prompt = Prompt.objects.create(campaign=facts, text=question, reference_answer="SECRET REFERENCE")
        candidates_add(prompt, generator, [answer])
    items_build(campaign=fluency, kind="coherence", seed=1, source_campaign=facts)
    return list(fluency.items.all())


def _next_item(page: Page, previous: str) -> None:
    page.wait_for_function(
        "old => { const id = document.querySelector('#item')?.dataset.itemId; return id && id !== old; }",
        arg=previous,
    )


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_labeller_judges_two_answers_for_coherence_by_keyboard(
    live_server, page: Page, page_errors: list[str], labeller, coherence_items
):
    page.goto(f"{live_server.url}/accounts/login/?next=/label/fluency/")
    page.get_by_label("Username").fill(labeller.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("article.candidate")).to_have_count(1)
    expect(page.locator("#item")).not_to_contain_text("SECRET REFERENCE")
    page.evaluate("window.__marker = 1")

    # Keyboard only from here on. First item: incoherent; contradiction (x 1), gibberish (x 4) ticked
    # and unticked again, not an answer (x 2); a note.
    first = page.locator("#item").get_attribute("data-item-id")
    for key in ["2", "x", "1", "x", "4", "x", "4", "x", "2"]:
        page.keyboard.press(key)
    checked = page.locator("input[name=reasons]:checked")
    expect(checked).to_have_count(2)
    page.keyboard.press("r")
    expect(page.locator("textarea[name=note]")).to_be_focused()
    page.keyboard.type("Says four and five.")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    _next_item(page, first)

    # Second item: incoherent with wrong tone, then coherent, which clears the reasons.
    second = page.locator("#item").get_attribute("data-item-id")
    expect(page.locator("#item")).not_to_contain_text("SECRET REFERENCE")
    for key in ["2", "x", "3", "1"]:
        page.keyboard.press(key)
    expect(page.locator("input[name=reasons]:checked")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(page.locator("#no-items")).to_be_visible()

    assert page.evaluate("window.__marker") == 1, "the page reloaded between items; htmx should swap #item"
    assert not page_errors
    stored = {label.item_id: label.value for label in Label.objects.filter(labeller=labeller)}
    assert stored == {
        int(first): {
            "verdict": "incoherent",
            "reasons": ["contradiction", "not_an_answer"],
            "note": "Says four and five.",
        },
        int(second): {"verdict": "coherent", "reasons": [], "note": ""},
    }
