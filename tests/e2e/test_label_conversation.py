"""User story: a labeller judges replies to a multi-turn conversation. The history reads as a chat
transcript, a long one folded (key `h` opens it) so that the turn being answered stays in view, and the
compared replies sit apart from it."""

import pytest
from playwright.sync_api import Page, expect

from labelapp.models import Label, Prompt
from labelapp.services.items import items_build
from tests.conftest import PASSWORD
from tests.factories import candidates_add

LONG = [
    {"role": "system", "content": "You are a careful travel agent."},
    {"role": "user", "content": "I want to visit Lisbon in May."},
    {"role": "assistant", "content": "May is a fine month for Lisbon: warm, before the summer crowds."},
    {"role": "user", "content": "Which district should I stay in?"},
    {"role": "assistant", "content": "Alfama for the old town, Príncipe Real for quiet evenings."},
    {"role": "user", "content": "And how do I get there from the airport?"},
]
SHORT = [
    {"role": "user", "content": "Name a prime number."},
    {"role": "assistant", "content": "Seven."},
    {"role": "user", "content": "Another one?"},
]


@pytest.fixture
def conversation_items(campaign, generator):
    for messages, replies in [
        (LONG, ["The metro's red line, 20 minutes.", "A taxi, 15 minutes."]),
        (SHORT, ["Eleven.", "Thirteen."]),
    ]:
        prompt = Prompt.objects.create(campaign=campaign, messages=messages)
        candidates_add(prompt, generator, replies)
    items_build(campaign=campaign, kind="pairwise", seed=1)
    return {item.prompt.messages[-1]["content"]: item for item in campaign.items.select_related("prompt")}


def _log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/label/prefs/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/label/prefs/")


def _final_turn(page: Page) -> str:
    return page.locator("section.prompt .message.final-turn .text").inner_text()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_conversation_shows_as_a_transcript_folded_when_long(
    live_server, page: Page, page_errors: list[str], labeller, conversation_items
):
    _log_in(page, live_server, labeller.username)
    labelled = []
    for _ in conversation_items:
        final = _final_turn(page)
        item = conversation_items[final]
        history = item.prompt.messages[:-1]
        expect(page.locator("article.candidate")).to_have_count(2)
        # The compared replies are outside the transcript.
        expect(page.locator("section.prompt article.candidate")).to_have_count(0)
        if len(history) > 2:
            folded = page.locator("section.prompt details.history")
            expect(folded).not_to_have_attribute("open", "")
            expect(folded.get_by_text(history[1]["content"])).to_be_hidden()
            page.keyboard.press("h")
            expect(folded.get_by_text(history[1]["content"])).to_be_visible()
            roles = folded.locator(".message .role").all_inner_texts()
            assert [r.lower() for r in roles] == [m["role"] for m in history]
        else:
            expect(page.locator("section.prompt details.history")).to_have_count(0)
            for message in history:
                expect(page.locator("section.prompt").get_by_text(message["content"])).to_be_visible()
        labelled_before = page.locator("#item .progress").inner_text()
        page.keyboard.press("1")
        page.keyboard.press("Enter")
        expect(page.locator("#item .progress")).not_to_have_text(labelled_before)
        labelled.append(item.pk)
    expect(page.locator("#no-items")).to_be_visible()
    assert sorted(Label.objects.filter(labeller=labeller).values_list("item_id", flat=True)) == sorted(
        labelled
    )
    assert not page_errors
