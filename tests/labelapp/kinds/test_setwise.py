import pytest
from django.core.management import call_command
from django.http import QueryDict
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labelapp.errors import ApplicationError
from labelapp.kinds import setwise
from labelapp.kinds.base import BuildOptions, ItemShape
from labelapp.models import Generator, Item, ItemCandidate, Label, Prompt
from labelapp.selectors.dashboard import campaign_dashboard
from labelapp.services.gold import item_set_gold, items_mark_gold
from labelapp.services.items import items_build
from labelapp.services.labellers import user_upsert
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.conftest import PASSWORD
from tests.factories import item_built_order, item_shown_indices
from tests.sample_sets import samples_add, set_campaign

FOUR = ItemShape(candidate_count=4)


@pytest.fixture
def sets(db):
    return set_campaign("setwise")


@pytest.fixture
def model(db):
    return Generator.objects.create(name="model-a", model="embedded")


@pytest.fixture
def setwise_items(sets, model):
    """Two prompts, four samples each, one item each, shown in shuffled order."""
    for number in range(2):
        prompt = Prompt.objects.create(campaign=sets, text=f"Name a colour ({number}).")
        samples_add(prompt, model, [f"red {number}", f"blue {number}", f"red {number}", f"green {number}"])
    items_build(campaign=sets, kind="setwise", seed=4)
    items = list(sets.items.order_by("id"))
    assert all(item_built_order(item) != [0, 1, 2, 3] for item in items)
    return items


# --- the label value -------------------------------------------------------------------------------------


def test_a_full_value_is_cleaned_to_position_numbers():
    value = {"diversity": 2, "duplicates": [["C", "A"], ["D", "B"]], "best": "B", "worst": "D"}
    assert setwise.label_validate(value, shape=FOUR) == {
        "diversity": 2,
        "duplicates": [[0, 2], [1, 3]],
        "best": 1,
        "worst": 3,
    }


def test_only_the_rating_is_required_and_form_text_is_accepted():
    assert setwise.label_validate({"diversity": "5", "best": "", "worst": ""}, shape=FOUR) == {
        "diversity": 5,
        "duplicates": [],
        "best": None,
        "worst": None,
    }


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({}, "diversity"),
        ({"diversity": 0}, "diversity"),
        ({"diversity": 6}, "diversity"),
        ({"diversity": "many"}, "diversity"),
        ({"diversity": True}, "diversity"),
        ({"diversity": 3, "duplicates": "A=C"}, "duplicates"),
        ({"diversity": 3, "duplicates": [["A"]]}, "duplicates"),
        ({"diversity": 3, "duplicates": [["A", "A"]]}, "duplicates"),
        ({"diversity": 3, "duplicates": [["A", "E"]]}, "duplicates"),  # only A-D are shown
        ({"diversity": 3, "duplicates": [[0, 1]]}, "duplicates"),
        ({"diversity": 3, "duplicates": [["A", "B"], ["B", "C"]]}, "duplicates"),
        ({"diversity": 3, "best": "E"}, "best"),
        ({"diversity": 3, "worst": "a"}, "worst"),
        ({"diversity": 3, "best": "C", "worst": "C"}, "worst"),
        ({"diversity": 3, "same_as": {"C": "A"}}, "same_as"),
        ([3], "value"),
    ],
)
def test_bad_values_are_refused_naming_the_field(value, field):
    with pytest.raises(ApplicationError) as raised:
        setwise.label_validate(value, shape=FOUR)
    assert raised.value.extra["field"] == field
    assert field in raised.value.message


def test_the_bad_rating_message_lists_the_allowed_values():
    with pytest.raises(ApplicationError, match=r"Field 'diversity' must be one of 1, 2, 3, 4, 5\."):
        setwise.label_validate({"diversity": 9}, shape=FOUR)


def test_same_as_marks_in_the_form_become_linked_duplicate_groups():
    form = QueryDict("diversity=2&same-C=A&same-D=C&same-B=&best=B&idempotency_key=k")
    value = setwise.value_from_form(form)
    assert value == {"diversity": "2", "duplicates": [["A", "C", "D"]], "best": "B", "worst": ""}
    assert setwise.label_validate(value, shape=FOUR)["duplicates"] == [[0, 2, 3]]


def test_positions_become_canonical_indices():
    cleaned = {"diversity": 2, "duplicates": [[0, 2], [1, 3]], "best": 1, "worst": None}
    # Shown A is canonical 2, B is 0, C is 3, D is 1.
    assert setwise.label_to_canonical(cleaned, [2, 0, 3, 1]) == {
        "diversity": 2,
        "duplicates": [[0, 1], [2, 3]],
        "best": 0,
        "worst": None,
    }


# --- aggregation and gold ------------------------------------------------------------------------------


def label(diversity, duplicates=(), best=None, worst=None):
    return {"diversity": diversity, "duplicates": [list(g) for g in duplicates], "best": best, "worst": worst}


def test_one_labeller_is_the_aggregate():
    result = setwise.aggregate([label(3, [(0, 2)], best=1, worst=3)])
    assert result == setwise.SetwiseAggregate(
        diversity_mean=3.0,
        diversity_median=3,
        duplicates=[[0, 2]],
        best=1,
        worst=3,
        agreement=1.0,
        label_count=1,
    )
    assert setwise.gold_value_from(result) == {"diversity": 3, "best": 1}


def test_two_labellers_who_disagree_leave_no_consensus():
    result = setwise.aggregate([label(1, [(0, 2)], best=1, worst=3), label(5, [], best=2, worst=3)])
    assert result.diversity_mean == 3.0
    assert result.duplicates == []  # one of two is not more than half
    assert (result.best, result.worst) == (None, 3)
    assert result.agreement == 0.5  # the median is 1 (the lower one); only that rating is within 1
    assert setwise.gold_value_from(result) is None


def test_two_labellers_keep_only_the_pairs_both_marked():
    result = setwise.aggregate([label(2, [(0, 1, 2)]), label(3, [(0, 1)])])
    assert result.duplicates == [[0, 1]]
    assert result.agreement == 1.0
    assert setwise.gold_value_from(result) == {"diversity": 2, "best": None}


def test_three_labellers_merge_majority_pairs_and_pick_by_plurality():
    result = setwise.aggregate(
        [
            label(2, [(0, 1), (2, 3)], best=0, worst=3),
            label(3, [(0, 1, 2)], best=0, worst=2),
            label(5, [(1, 2)], best=1),
        ]
    )
    assert result.diversity_mean == pytest.approx(10 / 3)
    assert result.diversity_median == 3
    assert result.duplicates == [[0, 1, 2]]  # 0~1 and 1~2 each have two votes; 2~3 only one
    assert (result.best, result.worst) == (0, None)  # worst: 3 and 2 once each
    assert result.agreement == pytest.approx(2 / 3)  # 5 is more than 1 from the median 3
    assert result.label_count == 3
    assert setwise.gold_value_from(result) == {"diversity": 3, "best": 0}


def test_no_labels_aggregate_to_nothing():
    result = setwise.aggregate([])
    assert (result.diversity_mean, result.agreement, result.label_count) == (None, 0.0, 0)
    assert setwise.gold_value_from(result) is None


@pytest.mark.parametrize(
    ("given", "gold", "right"),
    [
        (label(3, best=1), {"diversity": 4, "best": 1}, True),
        (label(5, best=1), {"diversity": 4, "best": 1}, True),
        (label(2, best=1), {"diversity": 4, "best": 1}, False),
        (label(4, best=0), {"diversity": 4, "best": 1}, False),
        (label(4), {"diversity": 4, "best": 1}, False),
        (label(1), {"diversity": 2, "best": None}, True),
        (label(3), None, False),
    ],
)
def test_gold_needs_the_rating_within_one_and_the_same_best(given, gold, right):
    assert setwise.gold_matches(given, gold) is right


# --- building items ------------------------------------------------------------------------------------


def slots_of(item):
    return list(
        ItemCandidate.objects.filter(item=item).select_related("candidate__generator").order_by("index")
    )


def test_a_set_is_samples_of_one_generator_and_one_setting(sets, model):
    other = Generator.objects.create(name="model-b", model="embedded")
    prompt = Prompt.objects.create(campaign=sets, text="Q?")
    samples_add(prompt, model, [f"a{n}" for n in range(9)], params_key="t0.7")  # two sets, one left over
    samples_add(prompt, model, ["b0", "b1", "b2"], params_key="t1.0")  # too few for a set
    samples_add(prompt, other, ["c0", "c1", "c2", "c3"], params_key="t0.7")
    built = items_build(campaign=sets, kind="setwise", seed=1)
    assert (built.created, built.skipped_identical) == (3, 0)
    texts = sorted(sorted(slot.candidate.text for slot in slots_of(item)) for item in Item.objects.all())
    assert texts == [["a0", "a1", "a2", "a3"], ["a4", "a5", "a6", "a7"], ["c0", "c1", "c2", "c3"]]
    for item in Item.objects.all():
        slots = slots_of(item)
        assert len({(s.candidate.generator_id, s.candidate.params_key) for s in slots}) == 1


def test_per_item_sets_the_size_and_only_named_generators_are_used(sets, model):
    other = Generator.objects.create(name="model-b", model="embedded")
    prompt = Prompt.objects.create(campaign=sets, text="Q?")
    samples_add(prompt, model, [f"a{n}" for n in range(6)])
    samples_add(prompt, other, [f"b{n}" for n in range(6)])
    options = BuildOptions(generators=("model-b",), per_item=3)
    assert items_build(campaign=sets, kind="setwise", options=options).created == 2
    assert {slot.candidate.generator.name for item in Item.objects.all() for slot in slots_of(item)} == {
        "model-b"
    }


@pytest.mark.parametrize("per_item", [1, 11])
def test_per_item_outside_two_to_ten_is_refused(sets, per_item):
    with pytest.raises(ApplicationError, match="Field 'per_item' must be 2 to 10 for setwise") as raised:
        items_build(campaign=sets, kind="setwise", options=BuildOptions(per_item=per_item))
    assert raised.value.extra["field"] == "per_item"


def test_a_prompt_whose_samples_are_all_identical_still_builds(sets, model):
    prompt = Prompt.objects.create(campaign=sets, text="Q?")
    samples_add(prompt, model, ["Paris."] * 4)
    built = items_build(campaign=sets, kind="setwise")
    assert (built.created, built.skipped_identical) == (1, 0)


def test_building_again_keeps_old_sets_and_adds_new_samples_as_new_sets(sets, model):
    prompt = Prompt.objects.create(campaign=sets, text="Q?")
    samples_add(prompt, model, ["1", "2", "3", "4", "5"])
    assert items_build(campaign=sets, kind="setwise").created == 1
    samples_add(prompt, model, ["6", "7", "8"])
    again = items_build(campaign=sets, kind="setwise")
    assert (again.created, again.already_built) == (1, 1)
    assert sorted(slot.candidate.text for slot in slots_of(Item.objects.last())) == ["5", "6", "7", "8"]


def test_shown_positions_are_a_random_permutation_per_item(sets, model):
    for number in range(30):
        prompt = Prompt.objects.create(campaign=sets, text=f"Q{number}?")
        samples_add(prompt, model, ["w", "x", "y", "z"])
    items_build(campaign=sets, kind="setwise", seed=2)
    orders = [tuple(item_built_order(item)) for item in Item.objects.all()]
    assert all(sorted(order) == [0, 1, 2, 3] for order in orders)
    assert len(set(orders)) > 10  # 24 orders are possible


def test_build_items_command_builds_sets(sets, model):
    prompt = Prompt.objects.create(campaign=sets, text="Q?")
    samples_add(prompt, model, [str(n) for n in range(4)])
    call_command("build_items", campaign="sets", kind="setwise", generator=["model-a"], per_item=2)
    assert Item.objects.filter(kind="setwise").count() == 2


# --- labelling -----------------------------------------------------------------------------------------


def test_a_label_is_stored_with_canonical_indices(sets, setwise_items, labeller):
    item = lease_next(labeller=labeller, campaign=sets)
    shown = item_shown_indices(item=item, labeller=labeller)
    stored = label_submit(
        item_id=item.pk,
        labeller=labeller,
        value={"diversity": "2", "duplicates": [["C", "A"]], "best": "B", "worst": "D"},
        idempotency_key="k",
        campaign=None,
        lease_next=False,
    ).label
    assert stored.value == {
        "diversity": 2,
        "duplicates": [sorted([shown[0], shown[2]])],
        "best": shown[1],
        "worst": shown[3],
    }


def test_gold_is_scored_through_labelling(sets, setwise_items, labeller, other_labeller):
    sets.gold_rate, sets.labels_per_item = 1.0, 1
    sets.save()
    gold = item_set_gold(item=setwise_items[0], value={"diversity": 4, "best": "B"})  # canonical: B is 1
    assert gold.gold_value == {"diversity": 4, "duplicates": [], "best": 1, "worst": None}
    third = user_upsert(username="labeller3", password=PASSWORD)
    answers = [(labeller, 5, 1, True), (other_labeller, 2, 1, False), (third, 4, 0, False)]  # canonical best
    for user, diversity, best, right in answers:
        assert lease_next(labeller=user, campaign=sets) == gold
        value = {
            "diversity": diversity,
            "best": "ABCD"[item_shown_indices(item=gold, labeller=user).index(best)],
        }
        stored = label_submit(
            item_id=gold.pk, labeller=user, value=value, idempotency_key="g", campaign=None, lease_next=False
        ).label
        assert stored.gold_correct is right


def test_mark_gold_takes_the_labels_consensus(sets, setwise_items, labeller, other_labeller):
    for user in (labeller, other_labeller):
        while (item := lease_next(labeller=user, campaign=sets)) is not None:
            best = "ABCD"[item_shown_indices(item=item, labeller=user).index(3)]
            diversity = 3 if user == labeller else 2 if item == setwise_items[0] else 5
            label_submit(
                item_id=item.pk,
                labeller=user,
                value={"diversity": diversity, "best": best},
                idempotency_key=str(item.pk),
                campaign=None,
                lease_next=False,
            )
    marked, unclear = items_mark_gold(items=Item.objects.filter(campaign=sets))
    assert (marked, unclear) == (1, [setwise_items[1].pk])  # ratings 3 and 5 are two apart
    assert Item.objects.get(pk=setwise_items[0].pk).gold_value == {"diversity": 2, "best": 3}


def test_the_dashboard_computes_agreement_on_rating_and_best(sets, setwise_items, labeller, other_labeller):
    for user in (labeller, other_labeller):
        while (item := lease_next(labeller=user, campaign=sets)) is not None:
            best = "ABCD"[item_shown_indices(item=item, labeller=user).index(0)]
            value = {"diversity": 2 if item == setwise_items[0] else 4, "best": best}
            label_submit(
                item_id=item.pk,
                labeller=user,
                value=value,
                idempotency_key=str(item.pk),
                campaign=None,
                lease_next=False,
            )
    agreements = {a.field: a.result for a in campaign_dashboard(campaign=sets).agreements}
    assert set(agreements) == {"diversity", "best"}
    assert agreements["diversity"].alpha == 1.0 and agreements["diversity"].labels == 4
    assert (
        agreements["best"].alpha is None and agreements["best"].labels == 4
    )  # every best is 0: no variation


# --- the page and the API ------------------------------------------------------------------------------


def test_the_page_shows_every_sample_with_its_keys(sets, setwise_items, labeller, client_for):
    html = client_for(labeller).get("/label/sets/").content.decode()
    assert html.count('class="candidate"') == 4
    for key in ('data-key="1"', 'data-key="5"', 'data-key="d 3 1"', 'data-key="b 2"', 'data-key="w 4"'):
        assert key in html
    assert 'data-key="d 3 3"' not in html  # a sample is not offered as the same as itself


def test_a_bad_value_on_the_page_is_a_400_shown_inline_and_nothing_is_saved(
    sets, setwise_items, labeller, client_for
):
    client = client_for(labeller)
    client.get("/label/sets/")
    item = labeller.leases.get().item
    response = client.post(
        f"/label/sets/items/{item.pk}/",
        {"diversity": "3", "best": "A", "worst": "A", "idempotency_key": "k"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 400 and 'role="alert"' in html and "Field &#x27;worst&#x27;" in html
    assert f'data-item-id="{item.pk}"' in html and Label.objects.count() == 0


def test_a_bad_value_through_the_api_is_a_400_naming_the_field(sets, setwise_items, labeller):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=labeller).key}")
    leased = client.post("/api/v1/campaigns/sets/next-item/").json()["item"]
    assert [c["position"] for c in leased["candidates"]] == ["A", "B", "C", "D"]
    response = client.post(
        f"/api/v1/items/{leased['id']}/labels/",
        {"value": {"diversity": 3, "duplicates": [["A", "Z"]]}, "idempotency_key": "k"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["extra"] == {"field": "duplicates", "allowed": ["A", "B", "C", "D"]}
    assert Label.objects.count() == 0
