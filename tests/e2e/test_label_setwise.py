"""User story: a labeller judges two sets of samples by keyboard only: how diverse, which are the same,
which is best and worst; the stored labels name the samples they meant, in canonical order."""

import pytest
from playwright.sync_api import Page, expect

from labelapp.models import Generator, ItemCandidate, Label, Prompt
from labelapp.services.items import items_build
from tests.conftest import PASSWORD
from tests.sample_sets import samples_add, set_campaign


@pytest.fixture
def setwise_items(db):
    campaign = set_campaign("setwise")
    model = Generator.objects.create(name="model-a", model="embedded")
    for number in range(2):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Name a colour ({number}).")
        samples_add(prompt, model, [f"{colour} {number}" for colour in ("red", "blue", "green", "grey")])
    items_build(campaign=campaign, kind="setwise", seed=4)
    return list(campaign.items.order_by("id"))


def shown_texts(page: Page) -> tuple[int, dict[str, str]]:
    item_id = int(page.locator("#item").get_attribute("data-item-id"))
    texts = {
        name: page.locator(f'article.candidate[data-position="{name}"] .text').inner_text() for name in "ABCD"
    }
    return item_id, texts


def press(page: Page, *sequences: str) -> None:
    for sequence in sequences:
        for key in sequence.split():
            page.keyboard.press(key)


def canonical_texts(item_id: int) -> dict[int, str]:
    slots = ItemCandidate.objects.filter(item_id=item_id).select_related("candidate")
    return {slot.index: slot.candidate.text for slot in slots}


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_labeller_judges_two_sets_by_keyboard(
    live_server, page: Page, page_errors: list[str], labeller, setwise_items
):
    page.goto(f"{live_server.url}/accounts/login/?next=/label/sets/")
    page.get_by_label("Username").fill(labeller.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("article.candidate")).to_have_count(4)
    expect(page.locator(".set-keys")).to_contain_text("d n m sample n is the same as m")

    # First set: diversity 2, C is the same as A, best B, worst D.
    first_id, first = shown_texts(page)
    press(page, "2", "d 3")
    expect(page.locator("#key-pending")).to_have_text("d 3 …")  # the keys typed so far are on screen
    press(page, "1", "b 2", "w 4")
    expect(page.locator('input[name="same-C"][value="A"]')).to_be_checked()
    expect(page.locator('input[name="best"][value="B"]')).to_be_checked()
    expect(page.locator('input[name="worst"][value="D"]')).to_be_checked()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "old => { const id = document.querySelector('#item')?.dataset.itemId; return id && id !== old; }",
        arg=str(first_id),
    )

    # Second set: D and C are the same as B, A marked the same as B and then unmarked, diversity 4 then 3,
    # best A, no worst.
    second_id, second = shown_texts(page)
    press(page, "4", "d 4 2", "d 3 2", "d 1 2", "d 1 2", "3", "b 1")
    expect(page.locator('input[name="same-A"][value="B"]')).not_to_be_checked()
    expect(page.locator('input[name="diversity"][value="3"]')).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.locator("#no-items")).to_be_visible()
    assert not page_errors

    def texts_of(item_id: int, value: dict) -> dict:
        by_index = canonical_texts(item_id)
        return {
            "diversity": value["diversity"],
            "duplicates": [{by_index[i] for i in group} for group in value["duplicates"]],
            "best": by_index.get(value["best"]),
            "worst": by_index.get(value["worst"]),
        }

    stored = {label.item_id: label.value for label in Label.objects.filter(labeller=labeller)}
    assert texts_of(first_id, stored[first_id]) == {
        "diversity": 2,
        "duplicates": [{first["A"], first["C"]}],
        "best": first["B"],
        "worst": first["D"],
    }
    assert texts_of(second_id, stored[second_id]) == {
        "diversity": 3,
        "duplicates": [{second["B"], second["C"], second["D"]}],
        "best": second["A"],
        "worst": None,
    }
    # The fixture shuffles the samples, so a stored index is not simply the shown position.
    assert stored[first_id]["best"] != 1 or stored[second_id]["best"] != 0
