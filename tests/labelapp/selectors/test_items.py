import re

import pytest
from rest_framework.test import APIClient

from labelapp.kinds import set_vs_set
from labelapp.models import Label, Prompt
from labelapp.selectors.items import shown_order_for_labeller
from labelapp.services.items import items_build
from tests.factories import candidates_add

HTMX = {"HTTP_HX_REQUEST": "true"}
ITEMS = 30


@pytest.fixture
def many_pairs(campaign, generator):
    for number in range(ITEMS):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
        candidates_add(prompt, generator, [f"first answer {number}", f"second answer {number}"])
    items_build(campaign=campaign, kind="pairwise", seed=1)
    return list(campaign.items.all())


def page_order(html: str) -> list[str]:
    """The answers' texts in the order the page shows them ("first" is the candidate of index 0)."""
    return re.findall(r"(first|second) answer \d+", html.split('class="pair"', 1)[1])


def test_two_labellers_see_each_item_in_their_own_order_and_their_labels_unshuffle(
    campaign, many_pairs, labeller, other_labeller, client_for
):
    """One labels through the API, the other through the page; both always prefer the first answer."""
    seen: dict[str, dict[int, list[str]]] = {"api": {}, "page": {}}
    api = APIClient()
    api.force_authenticate(labeller)
    item = api.post("/api/v1/campaigns/prefs/next-item/").json()["item"]
    while item is not None:
        order = [c["text"].split()[0] for c in item["candidates"]]
        seen["api"][item["id"]] = order
        pressed = "ab"[order.index("first")]
        body = api.post(
            f"/api/v1/campaigns/prefs/items/{item['id']}/label/?next=1",
            {"value": {"choice": pressed}, "idempotency_key": f"k{item['id']}"},
            format="json",
        ).json()
        item = body["next"]["item"]

    page = client_for(other_labeller)
    html = page.get("/label/prefs/").content.decode()
    while 'class="pair"' in html:
        item_id = int(re.search(r'data-item-id="(\d+)"', html).group(1))
        order = page_order(html)
        assert page_order(page.get("/label/prefs/").content.decode()) == order  # a reload shows the same
        seen["page"][item_id] = order
        pressed = "ab"[order.index("first")]
        html = page.post(
            f"/label/prefs/items/{item_id}/", {"choice": pressed, "idempotency_key": f"k{item_id}"}, **HTMX
        ).content.decode()

    assert set(seen["api"]) == set(seen["page"]) == {item.pk for item in many_pairs}
    same = [seen["api"][pk] == seen["page"][pk] for pk in seen["api"]]
    assert any(same) and not all(same)  # independent orders: each item alike or not by chance
    for who, user in (("api", labeller), ("page", other_labeller)):
        assert {order[0] for order in seen[who].values()} == {"first", "second"}
        for label in Label.objects.filter(labeller=user):
            assert label.value["choice"] == "a"  # the first answer, whichever side it was shown on
            assert label.shown_order == [0 if text == "first" else 1 for text in seen[who][label.item_id]]


def test_an_order_is_drawn_the_same_every_time_and_differs_between_labellers():
    orders = {
        labeller: [
            shown_order_for_labeller(
                item_id=item, kind="ranking", candidate_count=4, labeller_id=labeller
            ).indices
            for item in range(50)
        ]
        for labeller in (1, 2)
    }
    assert orders[1] == [
        shown_order_for_labeller(item_id=item, kind="ranking", candidate_count=4, labeller_id=1).indices
        for item in range(50)
    ]
    assert all(sorted(order) == [0, 1, 2, 3] for order in orders[1] + orders[2])
    assert orders[1] != orders[2] and len({tuple(order) for order in orders[1]}) > 10  # of 24


def test_set_vs_set_keeps_each_set_on_one_side_for_every_labeller():
    x_left = 0
    for labeller in range(40):
        positions = shown_order_for_labeller(
            item_id=7, kind="set-vs-set", candidate_count=6, labeller_id=labeller
        ).positions
        x_sides = {p // set_vs_set.SIDE_SLOTS for p in positions[:3]}
        y_sides = {p // set_vs_set.SIDE_SLOTS for p in positions[3:]}
        assert len(x_sides) == len(y_sides) == 1 and x_sides != y_sides
        x_left += x_sides == {0}
    assert 5 < x_left < 35
