"""Adaptive overlap: an item stops asking for labels once its first labels agree, asks for more when they
disagree, never past labels_per_item; with judge_prelabel a judged item first asks for one human label."""

import re

import pytest

import inference
from labelapp.errors import ApplicationError
from labelapp.models import Generator, Item, JudgeLabel, Prompt
from labelapp.selectors.campaigns import campaign_progress
from labelapp.selectors.dashboard import campaign_dashboard
from labelapp.selectors.judgements import judge_prelabel_value
from labelapp.services.campaigns import campaign_create, campaign_update
from labelapp.services.items import items_build
from labelapp.services.judge import items_judge
from labelapp.services.labellers import user_upsert
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from labelapp.services.overlap import items_judged_want_one_label
from tests.factories import candidates_add, item_shown_indices


@pytest.fixture
def people(db):
    return [user_upsert(username=f"rater{n}", password="x" * 10) for n in range(5)]


def adaptive(campaign, *, k=3, min_labels=2, agreement_to_stop=1.0, judge_prelabel=False, items=1):
    campaign_update(
        campaign=campaign,
        labels_per_item=k,
        min_labels=min_labels,
        agreement_to_stop=agreement_to_stop,
        judge_prelabel=judge_prelabel,
    )
    generator = Generator.objects.get_or_create(name="fake-model", model="embedded")[0]
    for number in range(items):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
        candidates_add(prompt, generator, [f"first answer {number}", f"second answer {number}"])
    items_build(campaign=campaign, kind="pairwise", seed=1)
    return list(campaign.items.order_by("id"))


def label(campaign, person, canonical_choice):
    """Lease the labeller's next item and label it with `canonical_choice` (un-shuffled to what was shown);
    None when nothing is left for them."""
    item = lease_next(labeller=person, campaign=campaign)
    if item is None:
        return None
    shown = canonical_choice
    if canonical_choice in {"a", "b"} and item_shown_indices(item=item, labeller=person)[0] == 1:
        shown = "b" if canonical_choice == "a" else "a"
    label_submit(
        item_id=item.pk,
        labeller=person,
        value={"choice": shown},
        idempotency_key=f"{item.pk}-{person.pk}",
        campaign=None,
        lease_next=False,
    )
    return Item.objects.get(pk=item.pk)


def labels_taken(campaign, people, choices):
    """Each of `people` in turn labels the next item with its choice until the campaign has nothing left
    for them; the choices used."""
    used = []
    for person, choice in zip(people, choices, strict=False):
        if label(campaign, person, choice) is None:
            break
        used.append(choice)
    return used


def test_new_items_ask_for_min_labels_and_fixed_campaigns_for_k(campaign):
    assert {item.labels_wanted for item in adaptive(campaign, k=3, min_labels=2, items=2)} == {2}
    fixed = campaign_create(name="fixed", labels_per_item=3)
    assert {item.labels_wanted for item in adaptive(fixed, k=3, min_labels=None, items=2)} == {3}


def test_two_labels_that_agree_stop_the_item_at_two(campaign, people):
    (item,) = adaptive(campaign, k=3, min_labels=2)
    assert labels_taken(campaign, people, ["a", "a", "a", "a"]) == ["a", "a"]
    item.refresh_from_db()
    assert (item.label_count, item.labels_wanted) == (2, 2)
    progress = campaign_progress(campaign=campaign, user=people[0])
    assert (progress.items_complete, progress.labels_wanted, progress.labels_saved) == (1, 2, 1)
    assert campaign_dashboard(campaign=campaign).labels_saved == 1


def test_the_manage_page_and_dashboard_show_the_labels_saved(campaign, people, staff, client_for):
    adaptive(campaign, k=3, min_labels=2, items=2)
    labels_taken(campaign, people, ["a", "a"])  # the first item stops at two of three
    client = client_for(staff)
    dashboard = client.get(f"/manage/{campaign.name}/dashboard/").content.decode()
    assert "up to 3 labels each" in dashboard and "2 of 4 labels collected" in dashboard
    assert '<span id="labels-saved">1 label saved</span>' in dashboard
    manage = client.get(f"/manage/{campaign.name}/").content.decode()
    assert "labels 2 / 4" in manage and '<span id="labels-saved">1 label saved</span>' in manage


def test_two_labels_that_disagree_ask_for_a_third_and_never_more_than_k(campaign, people):
    (item,) = adaptive(campaign, k=3, min_labels=2)
    assert labels_taken(campaign, people, ["a", "b", "tie", "a", "a"]) == ["a", "b", "tie"]
    item.refresh_from_db()
    assert (item.label_count, item.labels_wanted) == (3, 3)
    progress = campaign_progress(campaign=campaign, user=people[0])
    assert (progress.items_complete, progress.labels_wanted, progress.labels_saved) == (1, 3, 0)


def test_without_min_labels_every_item_gets_k_labels_even_when_they_agree(campaign, people):
    (item,) = adaptive(campaign, k=3, min_labels=None)
    assert labels_taken(campaign, people, ["a"] * 5) == ["a"] * 3
    item.refresh_from_db()
    assert (item.label_count, item.labels_wanted) == (3, 3)
    assert campaign_progress(campaign=campaign, user=people[0]).labels_saved == 0


def test_an_agreement_below_one_stops_at_the_first_count_that_reaches_it(campaign, people):
    adaptive(campaign, k=5, min_labels=2, agreement_to_stop=0.6)
    # a, b: 1/2 agree; a: 2/3 >= 0.6, so the item stops at 3 of at most 5.
    assert labels_taken(campaign, people, ["a", "b", "a", "a", "a"]) == ["a", "b", "a"]


def test_min_labels_above_two_is_reached_before_agreement_counts(campaign, people):
    adaptive(campaign, k=4, min_labels=3)
    assert labels_taken(campaign, people, ["a"] * 5) == ["a"] * 3


def test_live_leases_never_exceed_what_the_item_asks_for(campaign, people):
    (item,) = adaptive(campaign, k=3, min_labels=2)
    first, second = (lease_next(labeller=person, campaign=campaign) for person in people[:2])
    assert first == second == item
    assert lease_next(labeller=people[2], campaign=campaign) is None  # two leases fill the two it asks for


def test_gold_items_take_every_labeller_whatever_their_labels(campaign, people):
    (item,) = adaptive(campaign, k=3, min_labels=2)
    Item.objects.filter(pk=item.pk).update(is_gold=True, gold_value={"choice": "a"})
    campaign_update(campaign=campaign, gold_rate=1.0)
    assert labels_taken(campaign, people, ["a"] * 5) == ["a"] * 5
    item.refresh_from_db()
    assert item.labels_wanted == 2  # untouched: gold items have no cap


def judge_says(item, choice, name="judge"):
    """A judge sure of its verdict, the same in both orders: what judge_prelabel_value trusts."""
    judge = Generator.objects.get_or_create(name=name, model="embedded")[0]
    for order_reversed in (False, True):
        JudgeLabel.objects.create(
            item=item,
            generator=judge,
            value={"choice": choice},
            raw_output="Verdict",
            order_reversed=order_reversed,
            confidence=0.95,
        )


def test_a_judged_item_asks_for_one_human_label_and_stops_when_the_human_agrees(campaign, people):
    (item,) = adaptive(campaign, k=3, min_labels=2, judge_prelabel=True)
    judge_says(item, "b")
    assert items_judged_want_one_label(campaign=campaign, items=[item]) == 1
    item.refresh_from_db()
    assert item.labels_wanted == 1  # still one human label, never none
    assert labels_taken(campaign, people, ["b", "b", "b"]) == ["b"]
    assert campaign_progress(campaign=campaign, user=people[0]).labels_saved == 2


def test_a_judged_item_asks_for_more_while_the_humans_disagree_with_the_judge(campaign, people):
    (item,) = adaptive(campaign, k=3, min_labels=2, judge_prelabel=True)
    judge_says(item, "b")
    items_judged_want_one_label(campaign=campaign, items=[item])
    assert labels_taken(campaign, people, ["a", "b", "a", "a"]) == ["a", "b", "a"]
    item.refresh_from_db()
    assert (item.label_count, item.labels_wanted) == (3, 3)


def test_judges_that_differ_or_call_a_tie_prelabel_nothing(campaign):
    first, second, third = adaptive(campaign, k=3, min_labels=2, judge_prelabel=True, items=3)
    judge_says(first, "a")
    judge_says(first, "b", name="other-judge")
    judge_says(second, "tie")
    judge_says(third, "a")
    judge_says(third, "a", name="other-judge")
    assert [judge_prelabel_value(item=item) for item in (first, second, third)] == [
        None,
        None,
        {"choice": "a"},
    ]
    assert items_judged_want_one_label(campaign=campaign, items=[first, second, third]) == 1
    assert sorted(Item.objects.values_list("labels_wanted", flat=True)) == [1, 2, 2]


def test_a_campaign_without_judge_prelabel_ignores_the_judge(campaign, people):
    (item,) = adaptive(campaign, k=3, min_labels=2)
    judge_says(item, "a")
    assert items_judged_want_one_label(campaign=campaign, items=[item]) == 0
    assert labels_taken(campaign, people, ["a"] * 3) == ["a"] * 2


def test_an_item_labelled_before_the_judge_keeps_its_own_decision(campaign, people):
    (item,) = adaptive(campaign, k=3, min_labels=2, judge_prelabel=True)
    label(campaign, people[0], "a")
    judge_says(item, "a")
    assert items_judged_want_one_label(campaign=campaign, items=[item]) == 0
    item.refresh_from_db()
    assert item.labels_wanted == 2


def test_a_judge_job_on_a_prelabel_campaign_lowers_its_unlabelled_items_to_one(campaign, people, monkeypatch):
    items = adaptive(campaign, k=3, min_labels=2, judge_prelabel=True, items=3)
    label(campaign, people[0], "a")  # one item has a label before the judge runs

    def sure_of_the_first_text(*, spec, requests, params, on_progress=None):
        """Picks the answer whose text sorts first wherever it is shown, at probability 0.99."""
        verdicts = []
        for i, request in enumerate(requests):
            texts = re.findall(r"\[Response [A-J]\]\n(.*)", request.messages[0]["content"])
            letter = "AB"[texts.index(min(texts))]
            verdicts.append(inference.Completion(i, 0, f"Verdict: {letter}", "", "eos", 3, -0.01, -0.01, 0))
        return verdicts

    monkeypatch.setattr(inference, "generate", sure_of_the_first_text)
    monkeypatch.setattr(inference, "preload", lambda spec: None)
    items_judge(campaign=campaign, generator=Generator.objects.create(name="judge", model="embedded"))
    wanted = dict(Item.objects.values_list("pk", "labels_wanted"))
    labelled = Item.objects.get(label_count=1).pk
    assert wanted == {item.pk: 2 if item.pk == labelled else 1 for item in items}


def test_a_labeller_whose_item_was_settled_meanwhile_is_told_so(campaign, people):
    (item,) = adaptive(campaign, k=3, min_labels=2, judge_prelabel=True)
    first, second = (lease_next(labeller=person, campaign=campaign) for person in people[:2])
    judge_says(item, "a")
    items_judged_want_one_label(campaign=campaign, items=[item])
    label(campaign, people[0], "a")
    with pytest.raises(ApplicationError, match="all the labels it needs"):
        label_submit(
            item_id=item.pk,
            labeller=people[1],
            value={"choice": "a"},
            idempotency_key="late",
            campaign=None,
            lease_next=False,
        )


def test_changing_min_labels_before_any_label_restarts_the_items(campaign):
    items = adaptive(campaign, k=3, min_labels=2, items=2)
    campaign_update(campaign=campaign, min_labels=None)
    assert {item.labels_wanted for item in Item.objects.filter(pk__in=[i.pk for i in items])} == {3}
    campaign_update(campaign=campaign, min_labels=1)
    assert set(Item.objects.values_list("labels_wanted", flat=True)) == {1}


@pytest.mark.parametrize(("k", "min_labels"), [(2, 3), (3, 0)])
def test_min_labels_outside_one_to_k_is_refused_naming_the_field(db, k, min_labels):
    with pytest.raises(
        ApplicationError, match="Field 'min_labels' must be from 1 to labels_per_item"
    ) as refused:
        campaign_create(name="bad", labels_per_item=k, min_labels=min_labels)
    assert refused.value.extra == {"field": "min_labels"}


def test_lowering_k_below_min_labels_is_refused_naming_the_field(campaign):
    adaptive(campaign, k=3, min_labels=3)
    with pytest.raises(ApplicationError, match="Field 'min_labels'"):
        campaign_update(campaign=campaign, labels_per_item=2)


def test_agreement_to_stop_outside_zero_to_one_is_refused_naming_the_field(db):
    with pytest.raises(ApplicationError, match="agreement_to_stop") as refused:
        campaign_create(name="bad", labels_per_item=3, min_labels=2, agreement_to_stop=1.5)
    assert refused.value.extra == {"field": "agreement_to_stop"}
