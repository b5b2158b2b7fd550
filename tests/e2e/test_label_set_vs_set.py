"""User story: a labeller compares a set of samples from model X with one from model Y, by keyboard only;
the stored labels say X or Y, whichever side each set was shown on."""

import pytest
from playwright.sync_api import Page, expect

from labelapp.kinds.base import BuildOptions
from labelapp.models import Generator, Label, Prompt
from labelapp.services.items import items_build
from tests.conftest import PASSWORD
from tests.sample_sets import samples_add, set_campaign


@pytest.fixture
def duel_items(db):
    campaign = set_campaign("set-vs-set", name="duel")
    x = Generator.objects.create(name="model-x", model="embedded")
    y = Generator.objects.create(name="model-y", model="embedded")
    for number in range(2):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Tell a joke ({number}).")
        samples_add(prompt, x, [f"X joke {n} ({number})" for n in range(3)])
        samples_add(prompt, y, [f"Y joke {n} ({number})" for n in range(3)])
    items_build(
        campaign=campaign, kind="set-vs-set", options=BuildOptions(generators=("model-x", "model-y")), seed=1
    )
    return list(campaign.items.order_by("id"))


def shown_sides(page: Page) -> tuple[int, str]:
    """The item on screen and the generator ("X" or "Y") whose samples are on the left."""
    item_id = int(page.locator("#item").get_attribute("data-item-id"))
    left = page.locator('[data-side="left"] article.candidate .text').all_inner_texts()
    right = page.locator('[data-side="right"] article.candidate .text').all_inner_texts()
    assert len(left) == len(right) == 3
    assert len({text[0] for text in left}) == len({text[0] for text in right}) == 1  # each set kept together
    assert left[0][0] != right[0][0]
    return item_id, left[0][0]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_labeller_compares_two_sets_by_keyboard(
    live_server, page: Page, page_errors: list[str], labeller, duel_items
):
    page.goto(f"{live_server.url}/accounts/login/?next=/label/duel/")
    page.get_by_label("Username").fill(labeller.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("article.candidate")).to_have_count(6)

    first_id, first_left = shown_sides(page)
    page.keyboard.press("2")  # rather pick from the right set
    page.keyboard.press("q")  # the left set is more diverse
    expect(page.locator('input[name="preferred"][value="right"]')).to_be_checked()
    expect(page.locator('input[name="more_diverse"][value="left"]')).to_be_checked()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "old => { const id = document.querySelector('#item')?.dataset.itemId; return id && id !== old; }",
        arg=str(first_id),
    )

    second_id, second_left = shown_sides(page)  # the labeller's own sides: X may be left in both
    for key in ("1", "e"):  # left preferred, equally diverse
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    expect(page.locator("#no-items")).to_be_visible()
    assert not page_errors

    other = {"X": "y", "Y": "x"}
    stored = {label.item_id: label.value for label in Label.objects.filter(labeller=labeller)}
    assert stored[first_id] == {"preferred": other[first_left], "more_diverse": first_left.lower()}
    assert stored[second_id] == {"preferred": second_left.lower(), "more_diverse": "tie"}
