"""User story: a labeller logs in, labels three pairs with the keyboard only, and the DPO export says what
they meant, in canonical (un-shuffled) order, in the shape TRL reads as it is."""

from dataclasses import dataclass
from pathlib import Path

import pytest
from datasets import load_dataset
from django.core.management import call_command
from playwright.sync_api import Page, expect
from trl.data_utils import is_conversational, maybe_extract_prompt

from labelapp.models import Label
from tests.conftest import PASSWORD
from tests.factories import item_shown_indices


@dataclass(frozen=True)
class Judgement:
    """What the labeller saw and meant, read off the screen before they pressed anything."""

    item_id: int
    prompt: str
    preferred: str
    other: str
    position: str  # "A" or "B", the side they preferred


def _shown(page: Page) -> tuple[int, str, dict[str, str]]:
    item_id = page.locator("#item").get_attribute("data-item-id")
    assert item_id, "the labelling page shows no item"
    texts = {
        pos: page.locator(f'article.candidate[data-position="{pos}"] .text').inner_text() for pos in "AB"
    }
    return int(item_id), page.locator("section.prompt .text").inner_text(), texts


def _label(
    page: Page, keys: list[str], *, preferred: str, rationale: str = "", last: bool = False
) -> Judgement:
    """Read the item on screen, press `keys` (typing `rationale` after "r"), press Enter, wait for the swap."""
    item_id, prompt, texts = _shown(page)
    other = "B" if preferred == "A" else "A"
    labelled_before = page.locator("#item .progress").inner_text()
    for key in keys:
        page.keyboard.press(key)
        if key == "r":
            expect(page.locator("textarea[name=rationale]")).to_be_focused()
            page.keyboard.type(rationale)
            expect(page.locator("textarea[name=rationale]")).to_have_value(rationale)
    expect(page.locator(f'input[name=choice][value="{preferred.lower()}"]')).to_be_checked()
    page.keyboard.press("Enter")
    if last:
        expect(page.locator("#no-items")).to_be_visible()
    else:
        page.wait_for_function(
            "old => { const id = document.querySelector('#item')?.dataset.itemId; return id && id !== old; }",
            arg=str(item_id),
        )
    expect(page.locator("#item .error:visible")).to_have_count(0)
    expect(page.locator("#item .progress")).not_to_have_text(labelled_before)
    return Judgement(item_id, prompt, texts[preferred], texts[other], preferred)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_labeller_labels_three_pairs_by_keyboard_and_dpo_export_unshuffles(
    live_server, page: Page, page_errors: list[str], labeller, pairwise_items, tmp_path: Path
):
    # Every item gets an A-or-B judgement below, read off the screen in the order this labeller sees, so
    # un-shuffling is exercised whichever order they get.

    # Opening the campaign while logged out leads to the login form, and back after logging in.
    page.goto(f"{live_server.url}/label/prefs/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/label/prefs/")
    page.get_by_label("Username").fill(labeller.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/label/prefs/")
    expect(page.locator("article.candidate")).to_have_count(2)
    page.evaluate("window.__marker = 1")  # gone if anything below reloads the page instead of swapping #item

    # Keyboard only from here on: no clicks.
    judgements = [
        _label(page, ["1", "w"], preferred="A"),
        _label(page, ["2", "e", "f", "q", "r"], preferred="B", rationale="B is more precise"),
        _label(page, ["1", "f", "e"], preferred="A", last=True),
    ]
    assert page.evaluate("window.__marker") == 1, "the page reloaded between items; htmx should swap #item"
    assert sorted(j.item_id for j in judgements) == sorted(item.pk for item in pairwise_items)
    assert not page_errors
    rationale = Label.objects.get(item_id=judgements[1].item_id, labeller=labeller).value["rationale"]
    assert rationale == "B is more precise"
    stated = [Label.objects.get(item_id=j.item_id).value.get("confidence") for j in judgements]
    assert stated == [None, "certain", "guessing"]  # "f q" is the confidence, "q" alone the strength

    out = tmp_path / "prefs.jsonl"
    call_command("export_dataset", campaign="prefs", format="dpo", out=str(out))
    dataset = load_dataset("json", data_files=str(out), split="train", cache_dir=str(tmp_path / "hf-cache"))
    assert dataset.num_rows == 3
    rows = {row["id"]: row for row in dataset}
    assert set(rows) == {f"prefs-{j.item_id}" for j in judgements}

    prompts = {item.pk: item.prompt.text for item in pairwise_items}
    for judgement, strength in zip(judgements, ["clear", "strong", None], strict=True):
        row = rows[f"prefs-{judgement.item_id}"]
        assert row["prompt"] == prompts[judgement.item_id] == judgement.prompt
        assert (row["chosen"], row["rejected"]) == (judgement.preferred, judgement.other), (
            f"item {judgement.item_id}: the labeller preferred the text shown at {judgement.position}"
        )
        assert row["strength"] == strength
        assert row["label_count"] == 1
        # TRL's own reading: plain-text preference rows with an explicit prompt, used as they are.
        assert is_conversational(row) is False
        assert maybe_extract_prompt(row) == row


def _log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/label/prefs/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/label/prefs/")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_per_criterion_choices_by_key_sequences(
    live_server, page: Page, page_errors: list[str], labeller, campaign, pairwise_items
):
    campaign.criteria = ["helpfulness", "honesty"]
    campaign.save()
    _log_in(page, live_server, labeller.username)
    expect(page.locator("fieldset.criteria tr")).to_have_count(2)
    expected = {}
    for _ in range(2):
        item_id = int(page.locator("#item").get_attribute("data-item-id"))
        # Overall A; helpfulness A ("c 1 1"), honesty tie ("c 2 3"); Enter before the honesty choice is
        # refused by the browser (every criterion is required), so nothing is sent half-done.
        for key in ["1", "c", "1", "1", "Enter"]:
            page.keyboard.press(key)
        expect(page.locator('input[name="criterion-honesty"][value="tie"]')).not_to_be_checked()
        assert Label.objects.filter(item_id=item_id).count() == 0
        expect(page.locator("#key-pending")).to_have_text("")
        page.keyboard.press("c")
        expect(page.locator("#key-pending")).to_have_text("c …")
        for key in ["2", "3"]:
            page.keyboard.press(key)
        expect(page.locator('input[name="criterion-honesty"][value="tie"]')).to_be_checked()
        expect(page.locator('input[name="criterion-helpfulness"][value="a"]')).to_be_checked()
        page.keyboard.press("Enter")
        page.wait_for_function(
            "old => document.querySelector('#item')?.dataset.itemId !== old", arg=str(item_id)
        )
        item = next(i for i in pairwise_items if i.pk == item_id)
        shown_a = "ab"[item_shown_indices(item=item, labeller=labeller)[0]]
        expected[item_id] = {"helpfulness": shown_a, "honesty": "tie"}
    stored = {label.item_id: label.value["criteria"] for label in Label.objects.filter(labeller=labeller)}
    assert stored == expected
    assert not page_errors
