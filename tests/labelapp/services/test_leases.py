from datetime import timedelta

import pytest
from django.utils import timezone

from labelapp.errors import ApplicationError, NotFoundError, RefusedError
from labelapp.models import CampaignStatus, Item, LabellerProfile, Lease, Prompt, Skip
from labelapp.services import leases
from labelapp.services.items import items_build
from labelapp.services.labellers import labeller_suspend, labeller_unsuspend, user_upsert
from labelapp.services.labels import label_submit
from labelapp.services.leases import item_skip, lease_next, lease_renew
from tests.factories import candidates_add, item_shown_indices


def submit(item, labeller, choice="a"):
    return label_submit(
        item_id=item.pk,
        labeller=labeller,
        value={"choice": choice},
        idempotency_key=f"{item.pk}-{labeller.pk}",
        campaign=None,
        lease_next=False,
    )


def test_my_live_lease_is_resumed_until_i_submit(campaign, pairwise_items, labeller):
    first = lease_next(labeller=labeller, campaign=campaign)
    assert lease_next(labeller=labeller, campaign=campaign) == first
    submit(first, labeller)
    assert lease_next(labeller=labeller, campaign=campaign) != first
    assert not Lease.objects.filter(item=first, labeller=labeller).exists()


def test_a_labeller_never_gets_the_same_item_twice_and_then_none(campaign, pairwise_items, labeller):
    seen = []
    while (item := lease_next(labeller=labeller, campaign=campaign)) is not None:
        seen.append(item.pk)
        submit(item, labeller)
    assert sorted(seen) == sorted(i.pk for i in pairwise_items)


def test_live_leases_plus_labels_never_exceed_k(campaign, pairwise_items):
    campaign.labels_per_item = 1
    campaign.save()
    labellers = [user_upsert(username=f"l{n}", password="x" * 10) for n in range(4)]
    leased = [lease_next(labeller=person, campaign=campaign) for person in labellers]
    assert len({item.pk for item in leased[:3]}) == 3
    assert leased[3] is None  # every item is taken by a live lease


def test_partly_labelled_items_are_served_first(campaign, pairwise_items, labeller, other_labeller):
    started = lease_next(labeller=labeller, campaign=campaign)
    submit(started, labeller)
    assert lease_next(labeller=other_labeller, campaign=campaign) == started


def test_a_labeller_past_the_look_gets_untouched_items_then_every_partly_labelled_one(
    campaign, generator, labeller, other_labeller, monkeypatch
):
    """The queue's rule, bent for a labeller far ahead (README, queues): only the first FRONT_LOOK items
    with room, partly labelled first, are looked at before untouched items; the rest once none is left."""
    monkeypatch.setattr(leases, "FRONT_LOOK", 2)
    for number in range(5):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
        candidates_add(prompt, generator, [f"first {number}", f"second {number}"])
    items_build(campaign=campaign, kind="pairwise", seed=1)
    mine_first, mine_second, theirs, untouched, last = campaign.items.order_by("id")
    for item, priority in ((mine_first, 9), (mine_second, 8), (theirs, 7), (untouched, 1), (last, 0)):
        Item.objects.filter(pk=item.pk).update(priority=priority)
    for item, who in ((mine_first, labeller), (mine_second, labeller), (theirs, other_labeller)):
        Lease.objects.create(item=item, labeller=who, expires_at=timezone.now() + timedelta(minutes=5))
        submit(item, who)

    # The look (two items) holds only items I labelled: an untouched item, not the partly labelled one
    # behind them, and so on while untouched items are left.
    for expected in (untouched, last):
        assert lease_next(labeller=labeller, campaign=campaign) == expected
        submit(expected, labeller)
    # None is left: every partly labelled item is looked at.
    assert lease_next(labeller=labeller, campaign=campaign) == theirs
    # For the others the look starts at the front of the same order: my items, partly labelled, first.
    assert lease_next(labeller=other_labeller, campaign=campaign) == mine_first


def test_an_expired_lease_returns_the_item_to_the_pool(campaign, pairwise_items, labeller, other_labeller):
    campaign.labels_per_item = 1
    campaign.save()
    taken = [lease_next(labeller=labeller, campaign=campaign)]
    for _ in range(2):
        taken.append(lease_next(labeller=other_labeller, campaign=campaign))
        submit(taken[-1], other_labeller)
    assert lease_next(labeller=other_labeller, campaign=campaign) is None
    Lease.objects.filter(labeller=labeller).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert lease_next(labeller=other_labeller, campaign=campaign) == taken[0]


def test_a_paused_campaign_hands_out_nothing_and_says_so(campaign, pairwise_items, labeller):
    campaign.status = CampaignStatus.PAUSED
    campaign.save()
    with pytest.raises(RefusedError, match="Campaign 'prefs' is paused."):
        lease_next(labeller=labeller, campaign=campaign)


def test_a_skipped_item_goes_to_others_and_never_returns_to_me(
    campaign, pairwise_items, labeller, other_labeller
):
    campaign.labels_per_item = 1
    campaign.save()
    skipped = lease_next(labeller=labeller, campaign=campaign)
    item_skip(labeller=labeller, campaign="prefs", item_id=skipped.pk, reason="I cannot read this")
    assert Skip.objects.get().reason == "I cannot read this"
    mine = []
    while (item := lease_next(labeller=labeller, campaign=campaign)) is not None:
        mine.append(item.pk)
        submit(item, labeller)
    assert skipped.pk not in mine and len(mine) == 2
    assert lease_next(labeller=other_labeller, campaign=campaign) == skipped


def test_skipping_needs_a_lease(campaign, pairwise_items, labeller):
    with pytest.raises(NotFoundError):
        item_skip(labeller=labeller, campaign="prefs", item_id=pairwise_items[0].pk)


def test_the_heartbeat_renews_my_lease(campaign, pairwise_items, labeller, other_labeller):
    item = lease_next(labeller=labeller, campaign=campaign)
    Lease.objects.filter(labeller=labeller).update(expires_at=timezone.now() + timedelta(seconds=5))
    lease_renew(labeller=labeller, campaign="prefs", item_id=item.pk)
    assert Lease.objects.get(labeller=labeller).expires_at > timezone.now() + timedelta(seconds=500)
    with pytest.raises(NotFoundError):
        lease_renew(labeller=other_labeller, campaign="prefs", item_id=item.pk)


def expire(labeller):
    Lease.objects.filter(labeller=labeller).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_a_heartbeat_after_others_filled_the_item_does_not_revive_the_lease(
    campaign, pairwise_items, labeller
):
    """A laptop waking from sleep: its page's heartbeat and then its submit must not take the item past k."""
    item = lease_next(labeller=labeller, campaign=campaign)
    expire(labeller)
    for number in (2, 3):
        other = user_upsert(username=f"filler{number}", password="x" * 10)
        assert lease_next(labeller=other, campaign=campaign) == item
        submit(item, other)
    with pytest.raises(RefusedError, match="ran out and others have taken it"):
        lease_renew(labeller=labeller, campaign="prefs", item_id=item.pk)
    with pytest.raises(ApplicationError, match="ran out and others have taken it"):
        submit(item, labeller)
    item.refresh_from_db()
    assert item.label_count == 2 and item.labels.count() == 2
    assert lease_next(labeller=labeller, campaign=campaign) not in (None, item)


def test_an_expired_lease_is_renewed_while_the_item_has_room(
    campaign, pairwise_items, labeller, other_labeller
):
    item = lease_next(labeller=labeller, campaign=campaign)
    expire(labeller)
    assert lease_next(labeller=other_labeller, campaign=campaign) == item  # k=2: one place left for me
    assert lease_renew(labeller=labeller, campaign="prefs", item_id=item.pk).expires_at > timezone.now()
    submit(item, labeller)
    submit(item, other_labeller)
    item.refresh_from_db()
    assert item.label_count == 2


def test_a_full_item_refuses_a_label_whatever_the_lease_says(campaign, pairwise_items, labeller):
    """Even a live lease: the item's label count, read under its row lock, is the last word."""
    item = lease_next(labeller=labeller, campaign=campaign)
    for number in (2, 3):
        other = user_upsert(username=f"filler{number}", password="x" * 10)
        Lease.objects.create(item=item, labeller=other, expires_at=timezone.now() + timedelta(minutes=5))
        submit(item, other)
    with pytest.raises(ApplicationError, match="all the labels it needs. Here is another one."):
        submit(item, labeller)
    assert item.labels.count() == 2
    # The next lease is another item, not the full one again.
    assert lease_next(labeller=labeller, campaign=campaign) not in (None, item)


def test_an_expired_lease_on_a_gold_item_is_renewed_and_honoured_past_k(
    campaign, pairwise_items, labeller, other_labeller
):
    campaign.labels_per_item, campaign.gold_rate = 1, 1.0
    campaign.save()
    gold(pairwise_items[0], "a")
    item = lease_next(labeller=labeller, campaign=campaign)
    assert item == pairwise_items[0]
    expire(labeller)
    assert lease_next(labeller=other_labeller, campaign=campaign) == item
    submit(item, other_labeller)
    lease_renew(labeller=labeller, campaign="prefs", item_id=item.pk)
    submit(item, labeller)
    assert item.labels.count() == 2


def test_a_skip_reason_with_nul_is_refused_and_nothing_is_stored(campaign, pairwise_items, labeller):
    item = lease_next(labeller=labeller, campaign=campaign)
    with pytest.raises(ApplicationError, match="Field 'reason' holds a NUL character"):
        item_skip(labeller=labeller, campaign="prefs", item_id=item.pk, reason="bad\x00reason")
    assert not Skip.objects.exists() and Lease.objects.filter(item=item, labeller=labeller).exists()


def test_routing_needs_the_campaigns_skills(campaign, pairwise_items, labeller):
    campaign.required_skills = ["expert:math", "lang:fr"]
    campaign.save()
    with pytest.raises(
        RefusedError, match="Lacks the campaign's required skill\\(s\\): expert:math, lang:fr"
    ):
        lease_next(labeller=labeller, campaign=campaign)
    LabellerProfile.objects.create(user=labeller, skills=["expert:math", "lang:fr", "lang:de"])
    assert lease_next(labeller=labeller, campaign=campaign) is not None


def test_a_suspended_labeller_is_told_why(campaign, pairwise_items, labeller):
    lease_next(labeller=labeller, campaign=campaign)
    labeller_suspend(user=labeller, reason="too fast to be reading")
    assert not Lease.objects.filter(labeller=labeller).exists()
    with pytest.raises(RefusedError, match="Suspended: too fast to be reading"):
        lease_next(labeller=labeller, campaign=campaign)
    labeller_unsuspend(user=labeller)
    assert lease_next(labeller=labeller, campaign=campaign) is not None


def gold(item, choice):
    item.is_gold, item.gold_value = True, {"choice": choice}
    item.save()


def test_gold_items_are_served_at_the_rate_scored_and_never_capped(
    campaign, pairwise_items, labeller, other_labeller
):
    campaign.labels_per_item, campaign.gold_rate = 1, 1.0
    campaign.save()
    gold(pairwise_items[0], "a")
    first = lease_next(labeller=labeller, campaign=campaign)
    assert first == pairwise_items[0]
    shown_a = "a" if item_shown_indices(item=first, labeller=labeller)[0] == 0 else "b"
    label = label_submit(
        item_id=first.pk,
        labeller=labeller,
        value={"choice": shown_a},
        idempotency_key="g1",
        campaign=None,
        lease_next=False,
    ).label
    assert label.gold_correct is True
    # k=1 does not apply to gold: the other labeller is checked on it too, and gets it wrong.
    second = lease_next(labeller=other_labeller, campaign=campaign)
    assert second == pairwise_items[0]
    wrong = "b" if item_shown_indices(item=second, labeller=other_labeller)[0] == 0 else "a"
    label = label_submit(
        item_id=second.pk,
        labeller=other_labeller,
        value={"choice": wrong},
        idempotency_key="g2",
        campaign=None,
        lease_next=False,
    ).label
    assert label.gold_correct is False
    # With the gold item done, ordinary items follow.
    assert lease_next(labeller=labeller, campaign=campaign).is_gold is False


def test_a_labeller_below_the_gold_accuracy_threshold_stops_receiving_items(
    campaign, pairwise_items, labeller
):
    campaign.gold_rate, campaign.min_gold_accuracy, campaign.min_gold_labels = 1.0, 0.6, 2
    campaign.save()
    for item in pairwise_items[:2]:
        gold(item, "tie")
    for _ in range(2):
        item = lease_next(labeller=labeller, campaign=campaign)
        assert item.is_gold
        label_submit(
            item_id=item.pk,
            labeller=labeller,
            value={"choice": "both_bad"},
            idempotency_key=f"w{item.pk}",
            campaign=None,
            lease_next=False,
        )
    with pytest.raises(RefusedError, match="Gold accuracy 0% is below the campaign's 60%"):
        lease_next(labeller=labeller, campaign=campaign)


@pytest.mark.django_db
def test_lease_expiry_follows_the_campaign_setting(campaign, pairwise_items, labeller):
    campaign.lease_seconds = 120
    campaign.save()
    lease_next(labeller=labeller, campaign=campaign)
    lease = Lease.objects.get(labeller=labeller)
    assert timedelta(seconds=110) < lease.expires_at - timezone.now() <= timedelta(seconds=120)
