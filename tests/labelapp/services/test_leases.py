from datetime import timedelta

import pytest
from django.utils import timezone

from labelapp.models import CampaignStatus, Lease
from labelapp.services.labellers import user_upsert
from labelapp.services.labels import item_submit_label
from labelapp.services.leases import lease_next


def submit(item, labeller, choice="a"):
    return item_submit_label(
        item_id=item.pk,
        labeller=labeller,
        value={"choice": choice},
        idempotency_key=f"{item.pk}-{labeller.pk}",
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


def test_a_paused_campaign_hands_out_nothing(campaign, pairwise_items, labeller):
    campaign.status = CampaignStatus.PAUSED
    campaign.save()
    assert lease_next(labeller=labeller, campaign=campaign) is None


@pytest.mark.django_db
def test_lease_expiry_follows_the_campaign_setting(campaign, pairwise_items, labeller):
    campaign.lease_seconds = 120
    campaign.save()
    lease_next(labeller=labeller, campaign=campaign)
    lease = Lease.objects.get(labeller=labeller)
    assert timedelta(seconds=110) < lease.expires_at - timezone.now() <= timedelta(seconds=120)
