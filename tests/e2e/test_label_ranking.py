"""User story: a labeller ranks two sets of four responses with the keyboard only (placing, undoing,
clearing, flagging), another reorders one by dragging; the stored orders are the canonical candidates in
the order they meant."""

import pytest
from playwright.sync_api import Page, expect

from labelapp.models import Campaign, Generator, Item, Label, Prompt
from labelapp.services.items import items_build
from tests.conftest import PASSWORD
from tests.factories import candidates_add


@pytest.fixture
def ranking_items(db) -> list[Item]:
    campaign = Campaign.objects.create(
        name="ranks", title="Rank the answers", kind="ranking", labels_per_item=1, instructions="Best first."
    )
    big = Generator.objects.create(name="big", model="embedded")
    small = Generator.objects.create(name="small", model="embedded")
    for number in range(2):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Which river is longest? ({number})")
        candidates_add(prompt, big, [f"The Nile, item {number}.", f"**The Amazon**, item {number}."])
        candidates_add(prompt, small, [f"The Yangtze, item {number}.", f"`Mississippi`, item {number}."])
    items_build(campaign=campaign, kind="ranking", seed=7)
    return list(campaign.items.order_by("id"))


def log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/label/ranks/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("article.candidate")).to_have_count(4)


def shown_texts(page: Page) -> tuple[int, dict[str, str]]:
    item_id = int(page.locator("#item").get_attribute("data-item-id"))
    return item_id, {
        name: page.locator(f'article.candidate[data-position="{name}"] .text').inner_text() for name in "ABCD"
    }


def stored_texts(item_id: int, labeller) -> tuple[list[str], dict]:
    """The stored canonical order, as the candidates' texts, and the stored value."""
    value = Label.objects.get(item_id=item_id, labeller=labeller).value
    by_index = {slot.index: slot.candidate.text for slot in Item.objects.get(pk=item_id).slots.all()}
    return [by_index[index] for index in value["order"]], value


def wait_for_next_item(page: Page, item_id: int) -> None:
    page.wait_for_function(
        "old => { const id = document.querySelector('#item')?.dataset.itemId; return id !== old; }",
        arg=str(item_id),
    )


def plain(text: str) -> str:
    """A candidate's text as the page shows it: Markdown rendered."""
    return text.replace("**", "").replace("`", "")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_labeller_ranks_two_items_by_keyboard_only(
    live_server, page: Page, page_errors, labeller, ranking_items
):
    log_in(page, live_server, labeller.username)
    order_field = page.locator("input[name=order]")
    status = page.locator("#ranking-status")

    # Item one: C, A, then B by mistake, undone with Backspace; D, B. Enter before the end submits nothing.
    first_id, first_texts = shown_texts(page)
    for key in ["3", "1", "2", "Backspace", "4"]:
        page.keyboard.press(key)
    expect(order_field).to_have_value("C,A,D")
    expect(page.locator('article.candidate[data-position="C"] [data-rank-badge]')).to_have_text("ranked 1st")
    expect(page.locator('article.candidate[data-position="B"] [data-rank-badge]')).to_have_text("")
    page.keyboard.press("Enter")
    expect(status).to_have_text("Rank every response: B not ranked yet.")
    expect(order_field).not_to_be_focused()  # the next number key still ranks
    assert int(page.locator("#item").get_attribute("data-item-id")) == first_id
    page.keyboard.press("2")
    page.keyboard.press("f")
    expect(page.locator(".ranking-order .rank-chip")).to_have_count(4)
    expect(page.locator("input[name=all_flawed]")).to_be_checked()
    expect(status).to_have_text("All ranked. Enter submits.")
    page.keyboard.press("Enter")
    wait_for_next_item(page, first_id)
    expect(page.locator("#item .error:visible")).to_have_count(0)

    # Item two: B, then B again (refused), clear with x, then D, C, B, A and a rationale.
    second_id, second_texts = shown_texts(page)
    assert second_id != first_id
    expect(order_field).to_have_value("")
    page.keyboard.press("2")
    page.keyboard.press("2")
    expect(status).to_contain_text("B is already ranked 1st")
    page.keyboard.press("x")
    expect(order_field).to_have_value("")
    expect(page.locator(".ranking-pool .rank-chip")).to_have_count(4)
    for key in "4321":
        page.keyboard.press(key)
    page.keyboard.press("r")
    page.keyboard.type("D names the longest river.")
    page.keyboard.press("Escape")
    expect(order_field).to_have_value("D,C,B,A")
    page.keyboard.press("Enter")
    expect(page.locator("#no-items")).to_be_visible()
    assert not page_errors

    texts, value = stored_texts(first_id, labeller)
    assert [plain(t) for t in texts] == [first_texts[name] for name in "CADB"]
    assert value["all_flawed"] is True and value["top"] == value["order"][0]
    texts, value = stored_texts(second_id, labeller)
    assert [plain(t) for t in texts] == [second_texts[name] for name in "DCBA"]
    assert value["all_flawed"] is False and value["rationale"] == "D names the longest river."
    # Positions are shuffled: the stored canonical orders are not the typed letters' numbers.
    assert {tuple(Label.objects.get(item_id=i).value["order"]) for i in (first_id, second_id)} != {
        (2, 0, 3, 1),
        (3, 2, 1, 0),
    }


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_labeller_orders_by_drag_and_drop(live_server, page: Page, page_errors, labeller, ranking_items):
    log_in(page, live_server, labeller.username)
    item_id, texts = shown_texts(page)
    ranked = page.locator(".ranking-order")
    order_field = page.locator("input[name=order]")

    def chip(name: str):
        return page.locator(f'.rank-chip[data-position="{name}"]')

    chip("B").drag_to(ranked)
    chip("D").drag_to(ranked, target_position={"x": 20, "y": 40})  # below B
    expect(order_field).to_have_value("B,D")
    chip("A").drag_to(chip("B"), target_position={"x": 20, "y": 2})  # on B's top half: before B
    expect(order_field).to_have_value("A,B,D")
    chip("B").drag_to(page.locator(".ranking-pool"))  # back out of the ranking
    expect(order_field).to_have_value("A,D")
    chip("C").drag_to(chip("D"), target_position={"x": 20, "y": 2})
    below_d = chip("D").bounding_box()["height"] - 2
    chip("B").drag_to(chip("D"), target_position={"x": 20, "y": below_d})  # on D's bottom half: after D
    expect(order_field).to_have_value("A,C,D,B")
    ranked_chips = page.locator(".ranking-order .rank-chip")
    assert ranked_chips.evaluate_all("chips => chips.map(c => c.dataset.position)") == list("ACDB")
    page.keyboard.press("Enter")
    expect(page.locator("#item .error:visible")).to_have_count(0)
    wait_for_next_item(page, item_id)
    assert not page_errors

    stored, _ = stored_texts(item_id, labeller)
    assert [plain(t) for t in stored] == [texts[name] for name in "ACDB"]
