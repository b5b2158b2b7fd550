"""Keys are never lost and never applied to the wrong item (static/js/label-keys.js).

A labeller presses the next item's keys as soon as they have pressed Enter. Those keys must reach the next
item, whenever they land: while the label is being sent, in the same task as the swap (before it, after
it, once it has settled), racing the answer, and before htmx has bound the page at all. Answers are held
with Playwright routes and key presses are timed by htmx's own events, so no test sleeps to hit a moment.
"""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, Route, expect

from labelapp.models import Campaign, Label, Prompt
from labelapp.services.items import items_build
from tests.conftest import PASSWORD
from tests.factories import candidates_add

LABEL_POST = re.compile(r"/label/facts/items/\d+/$")

# (keys, what they store) on a correctness item: 1 correct, 2 incorrect, 3 can't tell; q / w / e certain,
# probably, guessing; x 1 the first error category; r types the critique, Escape leaves it.
CORRECT_CERTAIN = (
    ["1", "q"],
    {"verdict": "correct", "confidence": "certain", "error_category": None, "critique": ""},
)
INCORRECT_PROBABLY_CRITIQUED = (
    ["2", "w", "x", "1", "r", *"Too short", "Escape"],
    {
        "verdict": "incorrect",
        "confidence": "probably",
        "error_category": "factual error",
        "critique": "Too short",
    },
)
INCORRECT_GUESSING = (
    ["2", "e"],
    {"verdict": "incorrect", "confidence": "guessing", "error_category": None, "critique": ""},
)
CANT_TELL = (["3"], {"verdict": "cant_tell", "confidence": None, "error_category": None, "critique": ""})


@pytest.fixture
def facts(db, generator) -> Campaign:
    campaign = Campaign.objects.create(name="facts", kind="correctness", labels_per_item=1)
    for number in range(4):
        prompt = Prompt.objects.create(campaign=campaign, text=f"What is {number} + {number}?")
        candidates_add(prompt, generator, [f"It is {number * 3}."])
    items_build(campaign=campaign, kind="correctness", seed=1)
    return campaign


def _log_in(page: Page, live_server, labeller) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next=/label/facts/")
    page.get_by_label("Username").fill(labeller.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("article.candidate")).to_have_count(1)
    page.evaluate("window.__marker = 1")  # gone if the page reloads instead of swapping #item


def _item_id(page: Page) -> int:
    item_id = page.locator("#item").get_attribute("data-item-id")
    assert item_id, "the page shows no item"
    return int(item_id)


def _next_item(page: Page, previous: int) -> int:
    page.wait_for_function(
        "old => { const id = document.querySelector('#item')?.dataset.itemId; return id && id !== old; }",
        arg=str(previous),
    )
    return _item_id(page)


def _press(page: Page, keys: list[str]) -> None:
    for key in keys:
        page.keyboard.press(key)


def _hold(page: Page, url: re.Pattern[str] | str, method: str = "GET") -> list[Route]:
    """Requests to `url` are held, unanswered, in the returned list until the test continues them."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        if route.request.method == method:
            held.append(route)
        else:
            route.continue_()

    page.route(url, hold)
    return held


def _wait_until(page: Page, condition: Callable[[], bool], what: str) -> None:
    """Let Playwright deliver the browser's events until `condition` holds (route handlers run then)."""
    for _ in range(500):
        if condition():
            return
        page.wait_for_timeout(10)
    raise AssertionError(f"timed out waiting until {what}")


def _stored(labeller) -> dict[int, dict]:
    return {label.item_id: label.value for label in Label.objects.filter(labeller=labeller)}


def _finish(page: Page, page_errors: list[str]) -> None:
    assert page.evaluate("window.__marker") == 1, "the page reloaded; htmx should swap #item"
    assert page_errors == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_keys_pressed_while_the_label_is_sent_apply_to_the_next_item(
    live_server, page: Page, page_errors: list[str], labeller, facts
):
    _log_in(page, live_server, labeller)
    held = _hold(page, LABEL_POST, "POST")
    first = _item_id(page)
    _press(page, [*CORRECT_CERTAIN[0], "Enter"])
    _press(page, INCORRECT_PROBABLY_CRITIQUED[0])  # meant for the next item, which has not come yet
    _wait_until(page, lambda: len(held) == 1, "the label was sent")

    # Nothing of it went to the item on screen.
    expect(page.locator("input[name=verdict]:checked")).to_have_value("correct")
    expect(page.locator("input[name=confidence]:checked")).to_have_value("certain")
    expect(page.locator("input[name=error_category]:checked")).to_have_count(0)
    expect(page.locator("textarea[name=critique]")).to_have_value("")

    held.pop().continue_()
    page.unroute(LABEL_POST)
    second = _next_item(page, first)
    expect(page.locator("input[name=verdict][value=incorrect]")).to_be_checked()
    expect(page.locator("input[name=confidence][value=probably]")).to_be_checked()
    expect(page.locator('input[name=error_category][value="factual error"]')).to_be_checked()
    expect(page.locator("textarea[name=critique]")).to_have_value("Too short")
    expect(page.locator("textarea[name=critique]")).not_to_be_focused()  # Escape was replayed too
    page.keyboard.press("Enter")
    _next_item(page, second)

    assert _stored(labeller) == {first: CORRECT_CERTAIN[1], second: INCORRECT_PROBABLY_CRITIQUED[1]}
    _finish(page, page_errors)


# Presses keys from inside htmx's own event, in the same task as that step of the request and swap.
PRESS_AT = """({moment, keys}) => {
  const press = (event) => {
    if ((event.detail.target || event.target).id !== "item") return;
    document.removeEventListener(moment, press);
    for (const key of keys) {
      const target = document.activeElement || document.body;
      target.dispatchEvent(new KeyboardEvent("keydown", {key, bubbles: true, cancelable: true}));
    }
  };
  document.addEventListener(moment, press);
}"""


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "moment", ["htmx:beforeRequest", "htmx:beforeSwap", "htmx:afterSwap", "htmx:load", "htmx:afterSettle"]
)
def test_keys_in_the_same_task_as_each_step_of_the_swap_apply_to_the_next_item(
    live_server, page: Page, page_errors: list[str], labeller, facts, moment: str
):
    _log_in(page, live_server, labeller)
    page.evaluate(PRESS_AT, {"moment": moment, "keys": [*INCORRECT_GUESSING[0], "Enter"]})
    first = _item_id(page)
    _press(page, [*CORRECT_CERTAIN[0], "Enter"])
    # The keys pressed at `moment` label the second item and send it, so it may be on screen for less
    # than a frame: wait for the count of labels, not for the second item to be seen.
    expect(page.locator("#item .progress")).to_contain_text("You have labelled 2 items")

    first_label, second_label = Label.objects.filter(labeller=labeller).order_by("id")
    assert (first_label.item_id, first_label.value) == (first, CORRECT_CERTAIN[1])
    assert second_label.value == INCORRECT_GUESSING[1]
    assert _item_id(page) not in {first, second_label.item_id}  # the third item is the one shown
    _finish(page, page_errors)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_keys_pressed_as_the_next_item_appears_wait_for_htmx_to_bind_it(
    live_server, page: Page, page_errors: list[str], labeller, facts
):
    _log_in(page, live_server, labeller)
    # htmx binds a swapped-in item when the swap settles (20 ms, longer on a busy machine): widen that
    # window so the keys below, pressed as soon as the next item shows, surely land in it.
    page.evaluate("htmx.config.defaultSettleDelay = 1000")
    first = _item_id(page)
    _press(page, [*CORRECT_CERTAIN[0], "Enter"])
    second = _next_item(page, first)
    _press(page, [*INCORRECT_GUESSING[0], "Enter"])
    _next_item(page, second)

    assert _stored(labeller) == {first: CORRECT_CERTAIN[1], second: INCORRECT_GUESSING[1]}
    _finish(page, page_errors)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_keys_racing_the_answer_apply_to_the_next_item(
    live_server, page: Page, page_errors: list[str], labeller, facts
):
    """Each answer is let through just before the next item's keys are pressed: whichever comes first in
    the browser, the keys land on the item they were meant for."""
    _log_in(page, live_server, labeller)
    held = _hold(page, LABEL_POST, "POST")
    judgements = [CORRECT_CERTAIN, INCORRECT_GUESSING, CANT_TELL, INCORRECT_PROBABLY_CRITIQUED]
    shown = [_item_id(page)]
    _press(page, judgements[0][0])
    for keys, _ in judgements[1:]:
        page.keyboard.press("Enter")
        _wait_until(page, lambda: len(held) == 1, "the label was sent")
        held.pop().continue_()
        _press(page, keys)
        shown.append(_next_item(page, shown[-1]))
    page.unroute(LABEL_POST)
    page.keyboard.press("Enter")
    expect(page.locator("#no-items")).to_be_visible()

    assert _stored(labeller) == {item: value for item, (_, value) in zip(shown, judgements, strict=True)}
    _finish(page, page_errors)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_keys_pressed_before_htmx_has_loaded_apply_once_it_has(
    live_server, page: Page, page_errors: list[str], labeller, facts
):
    _log_in(page, live_server, labeller)
    held = _hold(page, "**/htmx-*.min.js")
    page.goto("about:blank")  # so that what is found below is on the new page, not the one before
    page.goto(f"{live_server.url}/label/facts/", wait_until="commit")
    expect(page.locator("input[name=verdict][value=correct]")).to_be_attached()
    page.evaluate("window.__marker = 1")
    first = _item_id(page)
    _press(page, [*CORRECT_CERTAIN[0], "Enter"])
    _wait_until(page, lambda: len(held) == 1, "the page asked for htmx")
    held.pop().continue_()

    _next_item(page, first)  # Enter waited for htmx, then sent the label through it: no page load
    assert _stored(labeller) == {first: CORRECT_CERTAIN[1]}
    _finish(page, page_errors)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_keys_pressed_while_a_label_fails_to_save_are_not_applied_to_it(
    live_server, page: Page, page_errors: list[str], labeller, facts
):
    """The next item never came, so the keys meant for it go nowhere; Enter then retries as it was."""
    _log_in(page, live_server, labeller)
    held = _hold(page, LABEL_POST, "POST")
    first = _item_id(page)
    _press(page, [*CORRECT_CERTAIN[0], "Enter"])
    _press(page, INCORRECT_GUESSING[0])
    _wait_until(page, lambda: len(held) == 1, "the label was sent")
    held.pop().fulfill(status=502, body="Bad gateway")
    page.unroute(LABEL_POST)

    expect(page.locator("#submit-failed")).to_be_visible()
    expect(page.locator("input[name=verdict]:checked")).to_have_value("correct")
    expect(page.locator("input[name=confidence]:checked")).to_have_value("certain")
    page.keyboard.press("Enter")
    _next_item(page, first)

    assert _stored(labeller) == {first: CORRECT_CERTAIN[1]}
    assert page.evaluate("window.__marker") == 1
    assert [error.split(" http")[0] for error in page_errors] == ["HTTP 502: POST"]
