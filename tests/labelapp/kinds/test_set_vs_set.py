import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labelapp.errors import ApplicationError
from labelapp.kinds import set_vs_set
from labelapp.kinds.base import BuildOptions, ItemShape
from labelapp.models import Candidate, Generator, Item, ItemCandidate, Label, Prompt
from labelapp.services.gold import item_set_gold, items_mark_gold
from labelapp.services.items import items_build
from labelapp.services.labellers import user_upsert
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.conftest import PASSWORD
from tests.factories import item_shown_indices
from tests.sample_sets import samples_add, set_campaign

SIX = ItemShape(candidate_count=6)
X_THEN_Y = BuildOptions(generators=("model-x", "model-y"))


@pytest.fixture
def duel(db):
    return set_campaign("set-vs-set", name="duel")


@pytest.fixture
def models(db):
    return (
        Generator.objects.create(name="model-x", model="embedded"),
        Generator.objects.create(name="model-y", model="embedded"),
    )


def prompts_with_samples(campaign, models, count, per_model=3):
    x, y = models
    for number in range(count):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Tell a joke ({number}).")
        samples_add(prompt, x, [f"x{n} for {number}" for n in range(per_model)])
        samples_add(prompt, y, [f"y{n} for {number}" for n in range(per_model)])


def x_shown_left(item, labeller) -> bool:
    return item_shown_indices(item=item, labeller=labeller)[0] < 3


@pytest.fixture
def duel_items(duel, models):
    """Two prompts, one item each."""
    prompts_with_samples(duel, models, 2)
    items_build(campaign=duel, kind="set-vs-set", options=X_THEN_Y, seed=1)
    return list(duel.items.order_by("id"))


# --- the label value -------------------------------------------------------------------------------------


def test_a_value_is_cleaned_and_lowercased():
    assert set_vs_set.label_validate({"preferred": "Left", "more_diverse": "tie"}, shape=SIX) == {
        "preferred": "left",
        "more_diverse": "tie",
    }


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({}, "preferred"),
        ({"preferred": "x", "more_diverse": "left"}, "preferred"),
        ({"preferred": "left"}, "more_diverse"),
        ({"preferred": "left", "more_diverse": "both"}, "more_diverse"),
        ({"preferred": "left", "more_diverse": "right", "why": "funny"}, "why"),
        ("left", "value"),
    ],
)
def test_bad_values_are_refused_naming_the_field(value, field):
    with pytest.raises(ApplicationError) as raised:
        set_vs_set.label_validate(value, shape=SIX)
    assert raised.value.extra["field"] == field and field in raised.value.message


def test_the_message_lists_the_allowed_sides():
    with pytest.raises(ApplicationError, match=r"Field 'preferred' must be one of left, right, tie\."):
        set_vs_set.label_validate({"preferred": "up", "more_diverse": "tie"}, shape=SIX)


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ([2, 0, 1, 4, 5, 3], {"preferred": "x", "more_diverse": "y"}),  # X's samples on the left
        ([5, 3, 4, 1, 0, 2], {"preferred": "y", "more_diverse": "x"}),  # Y's samples on the left
    ],
)
def test_sides_become_x_and_y(shown, expected):
    value = {"preferred": "left", "more_diverse": "right"}
    assert set_vs_set.label_to_canonical(value, shown) == expected
    assert set_vs_set.label_to_canonical({"preferred": "tie", "more_diverse": "tie"}, shown) == {
        "preferred": "tie",
        "more_diverse": "tie",
    }


# --- aggregation and gold ------------------------------------------------------------------------------


def test_one_labeller_is_the_aggregate():
    result = set_vs_set.aggregate([{"preferred": "x", "more_diverse": "y"}])
    assert result == set_vs_set.SetVsSetAggregate(
        preferred="x", more_diverse="y", agreement=1.0, label_count=1
    )
    assert set_vs_set.gold_value_from(result) == {"preferred": "x"}


def test_two_labellers_who_disagree_leave_no_preference():
    result = set_vs_set.aggregate(
        [{"preferred": "x", "more_diverse": "y"}, {"preferred": "y", "more_diverse": "y"}]
    )
    assert (result.preferred, result.more_diverse, result.agreement) == (None, "y", 0.5)
    assert set_vs_set.gold_value_from(result) is None


def test_three_labellers_decide_by_majority():
    result = set_vs_set.aggregate(
        [
            {"preferred": "y", "more_diverse": "x"},
            {"preferred": "y", "more_diverse": "tie"},
            {"preferred": "tie", "more_diverse": "y"},
        ]
    )
    assert (result.preferred, result.more_diverse, result.label_count) == ("y", None, 3)
    assert result.agreement == pytest.approx(2 / 3)
    assert set_vs_set.gold_value_from(result) == {"preferred": "y"}


@pytest.mark.parametrize(
    ("preferred", "gold", "right"),
    [("x", {"preferred": "x"}, True), ("tie", {"preferred": "x"}, False), ("y", None, False)],
)
def test_gold_needs_the_same_preferred_set(preferred, gold, right):
    assert set_vs_set.gold_matches({"preferred": preferred, "more_diverse": "tie"}, gold) is right


# --- building items ------------------------------------------------------------------------------------


def slots_of(item):
    return list(
        ItemCandidate.objects.filter(item=item).select_related("candidate__generator").order_by("index")
    )


@pytest.mark.parametrize(
    "generators", [(), ("model-x",), ("model-x", "model-x"), ("model-x", "model-y", "z")]
)
def test_exactly_two_different_generators_are_required(duel, models, generators):
    with pytest.raises(ApplicationError, match="exactly two different generators") as raised:
        items_build(campaign=duel, kind="set-vs-set", options=BuildOptions(generators=generators))
    assert raised.value.extra["field"] == "generators"


def test_the_command_says_which_option_is_missing(duel, models):
    with pytest.raises(CommandError, match=r"Field 'generators'.*--generator X --generator Y"):
        call_command("build_items", campaign="duel", kind="set-vs-set", generator=["model-x"])


def test_an_item_holds_a_set_of_x_then_a_set_of_y(duel, models):
    x, y = models
    prompts_with_samples(duel, models, 1, per_model=7)  # two sets each, one sample left over
    samples_add(Prompt.objects.get(), x, ["x at t2 a", "x at t2 b", "x at t2 c"], params_key="t2")
    built = items_build(
        campaign=duel, kind="set-vs-set", options=BuildOptions(generators=("model-y", "model-x"))
    )
    assert built.created == 2  # Y's two sets paired with X's first two, in order
    for item in Item.objects.all():
        slots = slots_of(item)
        assert [s.candidate.generator.name for s in slots] == ["model-y"] * 3 + ["model-x"] * 3
        assert len({s.candidate.params_key for s in slots[3:]}) == 1


def test_per_item_counts_one_side(duel, models):
    prompts_with_samples(duel, models, 1, per_model=4)
    options = BuildOptions(generators=("model-x", "model-y"), per_item=2)
    assert items_build(campaign=duel, kind="set-vs-set", options=options).created == 2
    assert all(len(slots_of(item)) == 4 for item in Item.objects.all())
    with pytest.raises(ApplicationError, match="Field 'per_item' must be 2 to 5 for set-vs-set"):
        items_build(
            campaign=duel, kind="set-vs-set", options=BuildOptions(generators=X_THEN_Y.generators, per_item=6)
        )


def test_identical_samples_still_build(duel, models):
    x, y = models
    prompt = Prompt.objects.create(campaign=duel, text="Q?")
    samples_add(prompt, x, ["Same."] * 3)
    samples_add(prompt, y, ["Same."] * 3)
    assert items_build(campaign=duel, kind="set-vs-set", options=X_THEN_Y).created == 1


def test_each_set_stays_together_on_a_random_side_in_random_order(duel, models):
    prompts_with_samples(duel, models, 40)
    items_build(campaign=duel, kind="set-vs-set", options=X_THEN_Y, seed=5)
    x_left = 0
    orders = set()
    for item in Item.objects.all():
        positions = [slot.position for slot in slots_of(item)]
        x_side, y_side = {p // 5 for p in positions[:3]}, {p // 5 for p in positions[3:]}
        assert len(x_side) == len(y_side) == 1 and x_side != y_side
        assert sorted(p % 5 for p in positions[:3]) == sorted(p % 5 for p in positions[3:]) == [0, 1, 2]
        x_left += x_side == {0}
        orders.add(tuple(p % 5 for p in positions[:3]))
    assert 8 < x_left < 32
    assert len(orders) == 6  # every order within a side occurs


# --- labelling -----------------------------------------------------------------------------------------


def test_a_label_is_stored_as_x_or_y(duel, duel_items, labeller):
    stored = []
    while (item := lease_next(labeller=labeller, campaign=duel)) is not None:
        label = label_submit(
            item_id=item.pk,
            labeller=labeller,
            value={"preferred": "left", "more_diverse": "right"},
            idempotency_key=str(item.pk),
            campaign=None,
            lease_next=False,
        ).label
        left, right = ("x", "y") if x_shown_left(item, labeller) else ("y", "x")
        stored.append((label.value, {"preferred": left, "more_diverse": right}))
    assert len(stored) == 2 and all(value == expected for value, expected in stored)


def test_gold_is_scored_through_labelling(duel, duel_items, labeller, other_labeller):
    duel.gold_rate, duel.labels_per_item = 1.0, 1
    duel.save()
    gold = duel_items[0]
    item_set_gold(item=gold, value={"preferred": "left", "more_diverse": "tie"})  # canonical: left is X
    assert gold.gold_value == {"preferred": "x", "more_diverse": "tie"}
    third = user_upsert(username="labeller3", password=PASSWORD)
    for user, choose, right in [(labeller, "x", True), (other_labeller, "y", False), (third, "tie", False)]:
        assert lease_next(labeller=user, campaign=duel) == gold
        x_side, y_side = ("left", "right") if x_shown_left(gold, user) else ("right", "left")
        preferred = {"x": x_side, "y": y_side, "tie": "tie"}[choose]
        value = {"preferred": preferred, "more_diverse": "left"}
        label = label_submit(
            item_id=gold.pk, labeller=user, value=value, idempotency_key="g", campaign=None, lease_next=False
        ).label
        assert label.gold_correct is right


def test_mark_gold_takes_the_majority_preference(duel, duel_items, labeller, other_labeller):
    for user in (labeller, other_labeller):
        while (item := lease_next(labeller=user, campaign=duel)) is not None:
            x_side = "left" if x_shown_left(item, user) else "right"
            preferred = x_side if item == duel_items[0] or user == labeller else "tie"
            value = {"preferred": preferred, "more_diverse": "tie"}
            label_submit(
                item_id=item.pk,
                labeller=user,
                value=value,
                idempotency_key=str(item.pk),
                campaign=None,
                lease_next=False,
            )
    assert items_mark_gold(items=Item.objects.filter(campaign=duel)) == (1, [duel_items[1].pk])
    assert Item.objects.get(pk=duel_items[0].pk).gold_value == {"preferred": "x"}


# --- the page and the API ------------------------------------------------------------------------------


def test_the_page_shows_two_sets_side_by_side_with_the_keys(duel, duel_items, labeller, client_for):
    html = client_for(labeller).get("/label/duel/").content.decode()
    left, right = html.split('data-side="right"')
    assert left.count('class="candidate"') == right.count('class="candidate"') == 3
    assert 'data-position="L3"' in left and 'data-position="R1"' in right
    for key in "123qwe":
        assert f'data-key="{key}"' in html


def test_a_bad_value_on_the_page_is_a_400_shown_inline_and_nothing_is_saved(
    duel, duel_items, labeller, client_for
):
    client = client_for(labeller)
    client.get("/label/duel/")
    item = labeller.leases.get().item
    response = client.post(
        f"/label/duel/items/{item.pk}/", {"preferred": "left", "idempotency_key": "k"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 400 and "Field &#x27;more_diverse&#x27;" in html
    assert f'data-item-id="{item.pk}"' in html and Label.objects.count() == 0


def test_a_bad_value_through_the_api_is_a_400_naming_the_field(duel, duel_items, labeller):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=labeller).key}")
    leased = client.post("/api/v1/campaigns/duel/next-item/").json()["item"]
    assert [c["position"] for c in leased["candidates"]] == ["L1", "L2", "L3", "R1", "R2", "R3"]
    response = client.post(
        f"/api/v1/items/{leased['id']}/labels/",
        {"value": {"preferred": "x", "more_diverse": "left"}, "idempotency_key": "k"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "Field 'preferred' must be one of left, right, tie.",
        "extra": {"field": "preferred", "allowed": ["left", "right", "tie"]},
    }
    assert Label.objects.count() == 0


def test_one_generator_at_two_temperatures_is_two_sides(duel, models):
    x, _ = models
    prompt = Prompt.objects.create(campaign=duel, text="Tell a joke.")
    for temperature in (0.3, 1.0):
        for number in range(3):
            Candidate.objects.create(
                prompt=prompt,
                generator=x,
                text=f"joke {number} at {temperature}",
                params={"temperature": temperature},
                params_key=f"t{temperature}",
                sample_index=number,
            )
    options = BuildOptions(generators=("model-x@1.0", "model-x@0.3"))
    assert items_build(campaign=duel, kind="set-vs-set", options=options).created == 1
    temperatures = [s.candidate.params["temperature"] for s in slots_of(Item.objects.get())]
    assert temperatures == [1.0] * 3 + [0.3] * 3


def test_a_side_with_a_temperature_that_is_no_number_is_named(duel, models):
    options = BuildOptions(generators=("model-x@hot", "model-y"))
    with pytest.raises(ApplicationError, match="'model-x@hot' names a temperature that is not a number"):
        items_build(campaign=duel, kind="set-vs-set", options=options)
