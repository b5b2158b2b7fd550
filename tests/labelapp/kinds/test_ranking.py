"""The ranking kind: its schema, ranked-pairs aggregation, item building, and labels through the services."""

import itertools
import random

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labelapp.errors import ApplicationError
from labelapp.kinds import ranking
from labelapp.kinds.base import BuildOptions, ItemShape
from labelapp.models import Campaign, Candidate, Generator, Item, Label, Prompt
from labelapp.selectors.dashboard import campaign_dashboard
from labelapp.services.gold import item_set_gold, items_mark_gold
from labelapp.services.items import items_build
from labelapp.services.labellers import user_upsert
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.factories import candidates_add, item_built_order, item_shown_indices

FOUR = ItemShape(candidate_count=4)
HTMX = {"HTTP_HX_REQUEST": "true"}


def orders(*given: list[int], flawed: bool = False) -> list[dict]:
    return [{"order": list(order), "all_flawed": flawed} for order in given]


# Schema -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "order", "flawed"),
    [
        ({"order": "C,A,B,D"}, [2, 0, 1, 3], False),
        ({"order": " c, a ,b,d ", "all_flawed": "true"}, [2, 0, 1, 3], True),
        (
            {"order": ["D", "C", "B", "A"], "all_flawed": True, "rationale": "  D is exact. "},
            [3, 2, 1, 0],
            True,
        ),
        ({"order": "A,B,C,D", "all_flawed": "", "rationale": ""}, [0, 1, 2, 3], False),
    ],
)
def test_a_permutation_of_the_shown_positions_is_accepted(value, order, flawed):
    cleaned = ranking.label_validate(value, shape=FOUR)
    assert cleaned["order"] == order and cleaned["all_flawed"] is flawed
    assert cleaned["rationale"] == (value.get("rationale") or "").strip()


@pytest.mark.parametrize(
    ("value", "field", "says"),
    [
        ({}, "order", "exactly once"),
        ({"order": ""}, "order", "missing A, B, C, D"),
        ({"order": "A,B,C"}, "order", "missing D"),
        ({"order": "A,A,B,C"}, "order", "repeated A; missing D"),
        ({"order": "A,B,C,E"}, "order", "unknown E; missing D"),
        ({"order": "A,B,C,D,E"}, "order", "unknown E"),
        ({"order": ["A", "B", "C", 3]}, "order", "missing D"),
        ({"order": 7}, "order", "best first"),
        ({"order": "A,B,C,D", "all_flawed": "maybe"}, "all_flawed", "true or false"),
        ({"order": "A,B,C,D", "all_flawed": 1}, "all_flawed", "true or false"),
        ({"order": "A,B,C,D", "top": 0}, "top", "allowed: order, all_flawed, rationale"),
        ({"order": "A,B,C,D", "rationale": "x" * 5001}, "rationale", "longer than 5000"),
        ("A,B,C,D", "value", "must be an object"),
    ],
)
def test_a_bad_value_names_the_field_and_what_is_allowed(value, field, says):
    with pytest.raises(ApplicationError) as raised:
        ranking.label_validate(value, shape=FOUR)
    assert raised.value.extra["field"] == field
    assert field in raised.value.message and says in raised.value.message
    if field == "order":
        assert raised.value.extra["allowed"] == ["A", "B", "C", "D"]
        assert "Field 'order' must list each of A, B, C, D exactly once, best first" in raised.value.message


def test_the_allowed_positions_follow_the_items_size():
    assert ranking.label_validate({"order": "B,A"}, shape=ItemShape(candidate_count=2))["order"] == [1, 0]
    with pytest.raises(ApplicationError, match="each of A, B exactly once"):
        ranking.label_validate({"order": "B,A,C"}, shape=ItemShape(candidate_count=2))
    nine = ",".join(ranking.POSITION_NAMES)
    assert nine == "A,B,C,D,E,F,G,H,I"
    assert ranking.label_validate({"order": nine}, shape=ItemShape(candidate_count=9))["order"] == list(
        range(9)
    )


def test_a_form_post_reads_order_flag_and_rationale():
    value = ranking.value_from_form({"order": "B,A", "all_flawed": "true", "rationale": "meh", "other": "x"})
    assert value == {"order": "B,A", "all_flawed": "true", "rationale": "meh"}
    assert ranking.value_from_form({"order": "B,A"})["all_flawed"] == ""  # an unticked checkbox is absent


def test_shown_positions_are_stored_as_canonical_indices_with_the_top():
    # Shown A is canonical 2, B is 0, C is 3, D is 1.
    canonical = ranking.label_to_canonical(
        {"order": [1, 3, 0, 2], "all_flawed": False, "rationale": ""}, [2, 0, 3, 1]
    )
    assert canonical == {"order": [0, 1, 2, 3], "top": 0, "all_flawed": False, "rationale": ""}


def test_gold_is_matched_on_the_best_candidate_only():
    gold = {"order": [2, 0, 1], "top": 2}
    assert ranking.gold_matches({"order": [2, 1, 0]}, gold)
    assert not ranking.gold_matches({"order": [0, 2, 1]}, gold)
    assert not ranking.gold_matches({"order": [2, 0, 1]}, None)


# Aggregation by ranked pairs ------------------------------------------------------------------------------


def test_one_labeller_is_the_consensus_and_every_pair_is_exported():
    result = ranking.aggregate(orders([2, 0, 3, 1]))
    assert result.order == (2, 0, 3, 1) and result.label_count == 1
    assert (result.agreement, result.mean_kendall_tau) == (1.0, 1.0)
    assert result.clear_top and result.all_flawed is False and result.all_flawed_count == 0
    assert ranking.consensus_pairs(result) == [
        (2, 0, 1),
        (2, 3, 1),
        (2, 1, 1),
        (0, 3, 1),
        (0, 1, 1),
        (3, 1, 1),
    ]
    assert ranking.gold_value_from(result) == {
        "order": [2, 0, 3, 1],
        "top": 2,
        "all_flawed": False,
        "rationale": "",
    }


def test_two_labellers_who_agree_double_every_margin():
    result = ranking.aggregate(orders([1, 0, 2], [1, 0, 2]))
    assert result.order == (1, 0, 2) and result.agreement == 1.0
    assert result.wins == ((0, 0, 2), (2, 0, 2), (0, 0, 0))
    assert ranking.consensus_pairs(result) == [(1, 0, 2), (1, 2, 2), (0, 2, 2)]
    assert ranking.consensus_pairs(result, min_margin=3) == []


def test_two_labellers_split_on_the_best_leave_that_pair_out_and_no_gold():
    result = ranking.aggregate(orders([0, 1, 2], [1, 0, 2]))
    # 0 and 1 tie one vote each; equal pairwise wins overall (3 each), so the lower index goes first.
    assert result.order == (0, 1, 2)
    assert result.margin(0, 1) == 0 and not result.clear_top
    assert ranking.consensus_pairs(result) == [(0, 2, 2), (1, 2, 2)]
    # Labeller one keeps 3 of 3 pairs of the consensus, labeller two 2 of 3; taus 1 and 1/3.
    assert result.agreement == pytest.approx(5 / 6)
    assert result.mean_kendall_tau == pytest.approx(2 / 3)
    assert ranking.gold_value_from(result) is None


def test_three_labellers_the_condorcet_winner_beats_a_better_mean_rank():
    # 1 has the better Borda count (7 against 6), but 2 of 3 labellers put 0 above 1: ranked pairs picks 0.
    result = ranking.aggregate(
        [
            {"order": [0, 1, 2, 3], "all_flawed": True},
            {"order": [0, 1, 2, 3], "all_flawed": False},
            {"order": [1, 2, 3, 0], "all_flawed": True},
        ]
    )
    assert result.order == (0, 1, 2, 3) and result.clear_top and result.label_count == 3
    assert [sum(row) for row in result.wins] == [6, 7, 4, 1]
    assert (result.all_flawed, result.all_flawed_count) == (True, 2)
    assert ranking.consensus_pairs(result) == [
        (0, 1, 1),
        (0, 2, 1),
        (0, 3, 1),
        (1, 2, 3),
        (1, 3, 3),
        (2, 3, 3),
    ]
    # 6 + 6 + 3 of 6 pairs kept; taus 1, 1, 0.
    assert result.agreement == pytest.approx(15 / 18)
    assert result.mean_kendall_tau == pytest.approx(2 / 3)


def test_a_cycle_drops_its_weakest_preference():
    # C>A by 3, A>B by 3, B>C by only 1: the cycle C>A>B>C is broken at B>C, so the order is C, A, B.
    result = ranking.aggregate(orders(*[[2, 0, 1]] * 3, *[[0, 1, 2]] * 2, *[[1, 2, 0]] * 2))
    assert (result.margin(2, 0), result.margin(0, 1), result.margin(1, 2)) == (3, 3, 1)
    assert result.order == (2, 0, 1)
    assert ranking.consensus_pairs(result) == [(2, 0, 3), (0, 1, 3)]  # B>C won, so C>B is no export
    assert not result.clear_top  # C loses to B head to head


def test_an_exact_tie_cycle_is_broken_by_the_lower_canonical_index_whatever_the_label_order():
    rotations = [[0, 1, 2], [1, 2, 0], [2, 0, 1]]
    for permutation in itertools.permutations(rotations):
        result = ranking.aggregate(orders(*permutation))
        assert result.order == (0, 1, 2)
        assert (result.margin(0, 1), result.margin(1, 2), result.margin(2, 0)) == (1, 1, 1)
        assert not result.clear_top and ranking.gold_value_from(result) is None
    four = ranking.aggregate(orders([0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 0, 1], [3, 0, 1, 2]))
    assert four.order == (0, 1, 2, 3)


def test_opposite_orders_tie_everywhere():
    result = ranking.aggregate(orders([0, 1, 2], [2, 1, 0]))
    assert all(result.margin(i, j) == 0 for i, j in itertools.permutations(range(3), 2))
    assert result.order == (0, 1, 2) and ranking.consensus_pairs(result) == []
    assert result.agreement == 0.5 and result.mean_kendall_tau == 0.0


def test_pairs_nobody_settles_follow_the_pairwise_wins_not_the_index():
    # Only 1>2 is a majority; 0 ties with both. Pairwise wins: 1 has 3, 0 has 2, 2 has 1.
    result = ranking.aggregate(orders([1, 2, 0], [0, 1, 2]))
    assert result.order == (1, 0, 2)
    assert ranking.consensus_pairs(result) == [(1, 2, 2)]


def test_on_random_ballots_condorcet_winners_and_losers_hold_and_ballot_order_does_not_matter():
    rng = random.Random(5)
    for _ in range(300):
        count = rng.randint(2, 6)
        ballots = [rng.sample(range(count), count) for _ in range(rng.randint(1, 7))]
        result = ranking.aggregate(orders(*ballots))
        others = [[o for o in range(count) if o != c] for c in range(count)]
        for candidate in range(count):
            if all(result.margin(candidate, other) > 0 for other in others[candidate]):
                assert result.order[0] == candidate
            if all(result.margin(other, candidate) > 0 for other in others[candidate]):
                assert result.order[-1] == candidate
        place = {candidate: rank for rank, candidate in enumerate(result.order)}
        assert all(place[w] < place[lo] and m > 0 for w, lo, m in ranking.consensus_pairs(result))
        rng.shuffle(ballots)
        assert ranking.aggregate(orders(*ballots)).order == result.order


def test_all_flawed_split_evenly_has_no_majority():
    result = ranking.aggregate(
        [{"order": [0, 1], "all_flawed": True}, {"order": [0, 1], "all_flawed": False}]
    )
    assert result.all_flawed is None and result.all_flawed_count == 1


def test_no_labels_give_an_empty_consensus_and_orders_must_match():
    empty = ranking.aggregate([])
    assert (empty.order, empty.label_count, empty.agreement, empty.mean_kendall_tau) == ((), 0, 0.0, None)
    assert ranking.gold_value_from(empty) is None
    with pytest.raises(ValueError, match="once each"):
        ranking.aggregate(orders([0, 1, 2], [0, 1]))


# Building items -------------------------------------------------------------------------------------------


@pytest.fixture
def ranking_campaign(db) -> Campaign:
    return Campaign.objects.create(name="ranks", title="Rank them", kind="ranking", labels_per_item=3)


@pytest.fixture
def two_generators(db) -> tuple[Generator, Generator]:
    return (
        Generator.objects.create(name="big", model="embedded"),
        Generator.objects.create(name="small", model="embedded"),
    )


def groups_by_generator(campaign: Campaign) -> list[list[str]]:
    return [
        [
            slot.candidate.generator.name
            for slot in item.slots.select_related("candidate__generator").order_by("index")
        ]
        for item in campaign.items.order_by("id")
    ]


def test_groups_of_four_mix_generators_skip_repeated_texts_and_cover_every_answer(
    ranking_campaign, two_generators
):
    big, small = two_generators
    prompt = Prompt.objects.create(campaign=ranking_campaign, text="Q?")
    big_answers = candidates_add(prompt, big, ["b0", "b1", "b2", " b0 "])  # the last repeats b0
    small_answers = candidates_add(prompt, small, ["s0", "s1"])
    built = items_build(campaign=ranking_campaign, kind="ranking", seed=2)
    assert (built.created, built.skipped_identical) == (2, 0)
    groups = [
        [slot.candidate for slot in item.slots.select_related("candidate").order_by("index")]
        for item in ranking_campaign.items.order_by("id")
    ]
    # Dealt big, small, big, small, big: the first four, then the last four (borrowing two from the first).
    b0, b1, b2, _ = big_answers
    s0, s1 = small_answers
    assert [set(g) for g in groups] == [{b0, s0, b1, s1}, {s0, b1, s1, b2}] or [set(g) for g in groups] == [
        {s0, b1, s1, b2},
        {b0, s0, b1, s1},
    ]
    assert all(len(g) == 4 and len({c.text.strip() for c in g}) == 4 for g in groups)
    assert {c for g in groups for c in g} == {b0, b1, b2, s0, s1}
    assert all({c.generator.name for c in g} == {"big", "small"} for g in groups)


def test_per_item_sets_k_and_prompts_with_too_few_answers_get_no_item(ranking_campaign, two_generators):
    big, small = two_generators
    enough = Prompt.objects.create(campaign=ranking_campaign, text="Enough?")
    candidates_add(enough, big, ["one", "two", "three"])
    candidates_add(enough, small, ["four", "five", "six"])
    few = Prompt.objects.create(campaign=ranking_campaign, text="Few?")
    candidates_add(few, big, ["only", "two"])
    built = items_build(campaign=ranking_campaign, kind="ranking", options=BuildOptions(per_item=3), seed=0)
    assert built.created == 2
    assert all(item.prompt == enough and item.slots.count() == 3 for item in ranking_campaign.items.all())
    assert groups_by_generator(ranking_campaign) == [["big", "small", "big"], ["small", "big", "small"]]


def test_generators_can_be_chosen_and_critiques_are_never_ranked(ranking_campaign, two_generators):
    big, small = two_generators
    prompt = Prompt.objects.create(campaign=ranking_campaign, text="Q?")
    answers = candidates_add(prompt, big, ["a", "b"])
    critique = Candidate.objects.create(
        prompt=prompt, generator=big, text="bad", step="critique", parent=answers[0]
    )
    Candidate.objects.create(prompt=prompt, generator=big, text="a, fixed", step="revision", parent=critique)
    candidates_add(prompt, small, ["c", "d"])
    items_build(
        campaign=ranking_campaign, kind="ranking", options=BuildOptions(generators=("big",), per_item=3)
    )
    item = ranking_campaign.items.get()
    assert sorted(item.candidates.values_list("text", flat=True)) == ["a", "a, fixed", "b"]


def test_positions_are_shuffled_per_item_stored_and_building_again_adds_nothing(
    ranking_campaign, two_generators
):
    big, _ = two_generators
    for number in range(30):
        prompt = Prompt.objects.create(campaign=ranking_campaign, text=f"Q{number}?")
        candidates_add(prompt, big, [f"w{number}", f"x{number}", f"y{number}", f"z{number}"])
    assert items_build(campaign=ranking_campaign, kind="ranking", seed=4).created == 30
    shown = [item_built_order(item) for item in ranking_campaign.items.all()]
    assert all(sorted(indices) == [0, 1, 2, 3] for indices in shown)
    assert len({tuple(indices) for indices in shown}) > 10  # many different shuffles among 24 possible
    again = items_build(campaign=ranking_campaign, kind="ranking", seed=99)
    assert (again.created, again.already_built) == (0, 30)


@pytest.mark.parametrize("per_item", [1, 10])
def test_k_outside_two_to_nine_is_refused(ranking_campaign, per_item):
    with pytest.raises(ApplicationError, match="must be 2 to 9 for ranking") as raised:
        items_build(campaign=ranking_campaign, kind="ranking", options=BuildOptions(per_item=per_item))
    assert raised.value.extra["field"] == "per_item"


def test_the_build_items_command_builds_rankings(ranking_campaign, two_generators, capsys):
    big, small = two_generators
    prompt = Prompt.objects.create(campaign=ranking_campaign, text="Q?")
    candidates_add(prompt, big, ["1", "2", "3"])
    candidates_add(prompt, small, ["4", "5", "6"])
    call_command(
        "build_items", campaign="ranks", kind="ranking", generator=["big", "small"], per_item=6, seed=1
    )
    assert "Built 1 items" in capsys.readouterr().out
    assert Item.objects.get().slots.count() == 6


# Labels through the services, the page and the API --------------------------------------------------------


@pytest.fixture
def ranking_items(ranking_campaign, two_generators) -> list[Item]:
    big, small = two_generators
    for number in range(2):
        prompt = Prompt.objects.create(campaign=ranking_campaign, text=f"Rank these {number}?")
        candidates_add(prompt, big, [f"big first {number}", f"big second {number}"])
        candidates_add(prompt, small, [f"small first {number}", f"small second {number}"])
    items_build(campaign=ranking_campaign, kind="ranking", seed=3)
    return list(ranking_campaign.items.order_by("id"))


def shown_names_for(item: Item, labeller, canonical_order: list[int]) -> list[str]:
    """The shown position names a labeller types to give `canonical_order`."""
    shown = item_shown_indices(item=item, labeller=labeller)
    return [ranking.POSITION_NAMES[shown.index(index)] for index in canonical_order]


def test_a_submitted_order_is_stored_canonical(ranking_campaign, ranking_items, labeller):
    item = lease_next(labeller=labeller, campaign=ranking_campaign)
    typed = ",".join(shown_names_for(item, labeller, [3, 1, 0, 2]))
    label = label_submit(
        item_id=item.pk,
        labeller=labeller,
        value={"order": typed, "all_flawed": "true"},
        idempotency_key="k",
        campaign=None,
        lease_next=False,
    ).label
    label.refresh_from_db()
    assert label.value == {"order": [3, 1, 0, 2], "top": 3, "all_flawed": True, "rationale": ""}


def test_gold_set_by_canonical_order_scores_labellers_on_the_best(
    ranking_campaign, ranking_items, labeller, other_labeller
):
    item = ranking_items[0]
    # Gold values are given in canonical order: "C" means the candidate with index 2.
    item_set_gold(item=item, value={"order": ["C", "A", "B", "D"]})
    assert item.gold_value == {"order": [2, 0, 1, 3], "top": 2, "all_flawed": False, "rationale": ""}
    ranking_campaign.gold_rate = 1.0
    ranking_campaign.save()
    verdicts = []
    for who, canonical in ((labeller, [2, 3, 1, 0]), (other_labeller, [0, 2, 1, 3])):
        leased = lease_next(labeller=who, campaign=ranking_campaign)
        assert leased.pk == item.pk
        label = label_submit(
            item_id=item.pk,
            labeller=who,
            value={"order": shown_names_for(item, who, canonical)},
            idempotency_key=f"gold-{who.pk}",
            campaign=None,
            lease_next=False,
        ).label
        verdicts.append(label.gold_correct)
    assert verdicts == [True, False]


def test_mark_gold_takes_a_clear_consensus_and_leaves_a_split_alone(
    ranking_campaign, ranking_items, labeller, other_labeller
):
    clear, split = ranking_items
    for who, clear_order, split_order in (
        (labeller, [1, 0, 2, 3], [0, 1, 2, 3]),
        (other_labeller, [1, 2, 0, 3], [1, 0, 2, 3]),
    ):
        for item, canonical in ((clear, clear_order), (split, split_order)):
            Label.objects.create(
                item=item,
                labeller=who,
                value={"order": canonical, "top": canonical[0], "all_flawed": False},
                idempotency_key=f"{item.pk}",
            )
    marked, unclear = items_mark_gold(items=Item.objects.filter(pk__in=[clear.pk, split.pk]))
    assert (marked, unclear) == (1, [split.pk])
    clear.refresh_from_db()
    assert clear.is_gold and clear.gold_value["order"][0] == 1


def test_the_page_shows_every_response_with_its_key_and_the_ranking_controls(
    ranking_campaign, ranking_items, labeller, client_for
):
    html = client_for(labeller).get("/label/ranks/").content.decode()
    assert html.count('class="candidate"') == 4
    for number, name in enumerate("ABCD", start=1):
        assert f'data-key="{number}" data-place="{name}"><kbd>{number}</kbd> Rank {name} next' in html
    assert 'name="order" required' in html and 'data-key="f"' in html and 'data-key="x"' in html
    assert 'data-positions="A,B,C,D"' in html and html.count('class="rank-chip"') == 4
    assert "js/kinds/ranking.js" in html and "<kbd>Backspace</kbd>" in html


def test_a_bad_order_on_the_page_is_a_400_shown_inline_and_nothing_is_saved(
    ranking_campaign, ranking_items, labeller, client_for
):
    client = client_for(labeller)
    client.get("/label/ranks/")
    item = labeller.leases.get().item
    response = client.post(
        f"/label/ranks/items/{item.pk}/", {"order": "A,B,B", "idempotency_key": "k"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 400 and 'role="alert"' in html
    assert "Field &#x27;order&#x27; must list each of A, B, C, D exactly once" in html
    assert "repeated B; missing C, D" in html
    assert f'data-item-id="{item.pk}"' in html and Label.objects.count() == 0


def test_a_bad_order_through_the_api_is_a_400_naming_the_field(ranking_campaign, ranking_items, labeller):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=labeller).key}")
    leased = client.post("/api/v1/campaigns/ranks/next-item/").json()["item"]
    assert [c["position"] for c in leased["candidates"]] == ["A", "B", "C", "D"]
    response = client.post(
        f"/api/v1/items/{leased['id']}/labels/",
        {"value": {"order": ["A", "B", "C"]}, "idempotency_key": "k"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "Field 'order' must list each of A, B, C, D exactly once, best first (e.g. A,B,C,D); "
        "missing D.",
        "extra": {"field": "order", "allowed": ["A", "B", "C", "D"]},
    }
    assert Label.objects.count() == 0
    ok = client.post(
        f"/api/v1/items/{leased['id']}/labels/",
        {"value": {"order": ["D", "C", "B", "A"], "all_flawed": True}, "idempotency_key": "k"},
        format="json",
    )
    assert ok.status_code == 201 and ok.json()["value"]["all_flawed"] is True


def test_the_dashboard_measures_agreement_on_the_best_and_the_flag(ranking_campaign, ranking_items, db):
    third = user_upsert(username="labeller3", password="x")
    first, second = ranking_items
    who = [user_upsert(username=f"rater{n}", password="x") for n in range(2)] + [third]
    # Item one: everyone puts 0 first. Item two: 1, 1 and 2 first. Nobody flags the first item.
    tops = {first.pk: [0, 0, 0], second.pk: [1, 1, 2]}
    for item in (first, second):
        for labeller, top in zip(who, tops[item.pk], strict=True):
            order = [top, *[c for c in range(4) if c != top]]
            Label.objects.create(
                item=item,
                labeller=labeller,
                value={"order": order, "top": top, "all_flawed": item == second and top == 2},
                idempotency_key=f"{item.pk}",
            )
    dashboard = campaign_dashboard(campaign=ranking_campaign)
    fields = {agreement.field: agreement for agreement in dashboard.agreements}
    assert list(fields) == ["top", "all_flawed"]
    assert fields["top"].result.items == 2 and fields["top"].result.labels == 6
    assert 0 < fields["top"].result.alpha < 1
    by_name = {row.username: row for row in dashboard.labellers}
    assert by_name["labeller3"].majority_agreement == 0.5  # agreed on item one, not on item two
    assert by_name["rater0"].majority_agreement == 1.0
