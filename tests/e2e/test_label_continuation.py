"""User story: in a campaign that continues conversations, a labeller picks the better reply and writes the
user's next message; the generators answer it (tasks run eagerly, the model faked at the inference boundary)
and the labeller then judges the next turn of the same conversation, which shows the reply they preferred
and their message, with no message box on the last turn."""

import pytest
from playwright.sync_api import Page, expect

from labelapp.models import Generator, Item, Label, Prompt
from labelapp.services.items import items_build
from tests.conftest import PASSWORD
from tests.factories import candidates_add

QUESTION = "Name a prime number."
PARAMS = {"temperature": 0.7, "max_new_tokens": 8, "seed": 5, "n": 1}


@pytest.fixture
def conversation(campaign, generator, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    campaign.labels_per_item, campaign.continue_turns = 1, 1
    campaign.save()
    raw = Generator.objects.create(name="raw-model", model="embedded", prompt_format="raw")
    prompt = Prompt.objects.create(campaign=campaign, text=QUESTION)
    for model, text in [(generator, "Seven."), (raw, "Nine.")]:
        [candidate] = candidates_add(prompt, model, [text])
        candidate.params = PARAMS
        candidate.save()
    items_build(campaign=campaign, kind="pairwise", seed=1)
    return prompt.items.get()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_labeller_writes_the_next_message_and_then_judges_the_next_turn(
    live_server, page: Page, page_errors: list[str], labeller, conversation, fake_generate
):
    url = f"{live_server.url}/label/prefs/"
    page.goto(url)
    page.get_by_label("Username").fill(labeller.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(url)

    seven = page.locator("article.candidate", has_text="Seven.").get_attribute("data-position")
    page.keyboard.press("1" if seven == "A" else "2")
    page.keyboard.press("m")
    expect(page.locator("textarea[name=next_message]")).to_be_focused()
    page.keyboard.type("Another one, please?")
    page.keyboard.press("Enter")
    expect(page.locator("#item .progress")).to_contain_text("You have labelled 1 item")

    page.goto(url)  # the next turn was generated once the label was in
    expect(page.locator("section.prompt .message.final-turn .text")).to_have_text("Another one, please?")
    transcript = page.locator("section.prompt .message .text").all_inner_texts()
    assert transcript == [QUESTION, "Seven.", "Another one, please?"]
    expect(page.locator("article.candidate", has_text="Answer 0 to: Another one, please?")).to_have_count(1)
    expect(
        page.locator("article.candidate", has_text="Answer 0 (raw) to: Another one, please?")
    ).to_have_count(1)
    expect(page.locator("textarea[name=next_message]")).to_have_count(0)  # the last turn: no next message

    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#no-items")).to_be_visible()
    next_turn = Item.objects.get(prompt__continues=conversation)
    assert sorted(Label.objects.filter(labeller=labeller).values_list("item_id", flat=True)) == [
        conversation.pk,
        next_turn.pk,
    ]
    assert Label.objects.get(item=conversation).value["next_message"] == "Another one, please?"
    assert not page_errors
