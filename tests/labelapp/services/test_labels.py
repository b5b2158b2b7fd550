from datetime import timedelta

import pytest
from django.utils import timezone

from labelapp.errors import ApplicationError, NotFoundError
from labelapp.models import CampaignStatus, Item, Label, Lease
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.factories import item_shown_indices


def shown_first_is_canonical_a(item, labeller) -> bool:
    return item_shown_indices(item=item, labeller=labeller)[0] == 0


def test_label_is_stored_in_canonical_order_with_the_order_it_was_shown_in(
    campaign, pairwise_items, labeller
):
    while (item := lease_next(labeller=labeller, campaign=campaign)) is not None:
        done = label_submit(
            item_id=item.pk,
            labeller=labeller,
            value={"choice": "a", "strength": "clear"},
            idempotency_key=str(item.pk),
            campaign=None,
            lease_next=False,
        )
        label, created = done.label, done.created
        expected = "a" if shown_first_is_canonical_a(item, labeller) else "b"
        assert created and label.value == {"choice": expected, "strength": "clear", "rationale": ""}
        stored = Label.objects.get(pk=label.pk).shown_order
        assert (
            stored
            == item_shown_indices(item=item, labeller=labeller)
            == ([0, 1] if expected == "a" else [1, 0])
        )


def test_time_spent_is_measured_from_the_lease(campaign, pairwise_items, labeller):
    item = lease_next(labeller=labeller, campaign=campaign)
    Lease.objects.filter(item=item).update(created_at=timezone.now() - timedelta(seconds=42))
    label = label_submit(
        item_id=item.pk,
        labeller=labeller,
        value={"choice": "tie"},
        idempotency_key="k",
        campaign=None,
        lease_next=False,
    ).label
    assert 41 < label.seconds_spent < 60


def test_the_same_idempotency_key_stores_one_label(campaign, pairwise_items, labeller):
    item = lease_next(labeller=labeller, campaign=campaign)
    done = label_submit(
        item_id=item.pk,
        labeller=labeller,
        value={"choice": "b"},
        idempotency_key="k1",
        campaign=None,
        lease_next=False,
    )
    first, created = done.label, done.created
    done = label_submit(
        item_id=item.pk,
        labeller=labeller,
        value={"choice": "b"},
        idempotency_key="k1",
        campaign=None,
        lease_next=False,
    )
    again, created_again = done.label, done.created
    assert (created, created_again, first.pk) == (True, False, again.pk)
    assert Label.objects.count() == 1


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"choice": "c"}, "choice"),
        ({}, "choice"),
        ({"choice": "a", "strength": "huge"}, "strength"),
        ({"choice": "tie", "strength": "strong"}, "strength"),
        ({"choice": "a", "colour": "red"}, "colour"),
        ({"choice": "a", "rationale": "x" * 5001}, "rationale"),
        ({"choice": "a", "rationale": 42}, "rationale"),
        ({"choice": "a", "rationale": {"why": "this"}}, "rationale"),
        ({"choice": "a", "rationale": "a\ud800b"}, "rationale"),
        ({"choice": "a", "rationale": "a\x00b"}, "rationale"),
        ({"choice": "a", "criteria": {"helpfulness": "a"}}, "criteria"),  # the campaign lists none
    ],
)
def test_a_value_the_kind_does_not_allow_names_the_field_and_saves_nothing(
    campaign, pairwise_items, labeller, value, field
):
    item = lease_next(labeller=labeller, campaign=campaign)
    with pytest.raises(ApplicationError) as raised:
        label_submit(
            item_id=item.pk,
            labeller=labeller,
            value=value,
            idempotency_key="k",
            campaign=None,
            lease_next=False,
        )
    assert raised.value.extra["field"] == field and field in raised.value.message
    assert Label.objects.count() == 0 and Lease.objects.filter(item=item, labeller=labeller).exists()


def test_an_idempotency_key_with_nul_is_refused(campaign, pairwise_items, labeller):
    item = lease_next(labeller=labeller, campaign=campaign)
    with pytest.raises(ApplicationError, match="Field 'idempotency_key' holds a NUL character"):
        label_submit(
            item_id=item.pk,
            labeller=labeller,
            value={"choice": "a"},
            idempotency_key="k\x00",
            campaign=None,
            lease_next=False,
        )
    assert Label.objects.count() == 0


def test_an_item_not_leased_to_me_is_not_found(campaign, pairwise_items, labeller, other_labeller):
    theirs = lease_next(labeller=other_labeller, campaign=campaign)
    with pytest.raises(NotFoundError):
        label_submit(
            item_id=theirs.pk,
            labeller=labeller,
            value={"choice": "a"},
            idempotency_key="k",
            campaign=None,
            lease_next=False,
        )
    with pytest.raises(NotFoundError):
        label_submit(
            item_id=999999,
            labeller=labeller,
            value={"choice": "a"},
            idempotency_key="k2",
            campaign=None,
            lease_next=False,
        )


def test_an_expired_lease_is_honoured_unless_others_filled_the_item(
    campaign, pairwise_items, labeller, other_labeller
):
    campaign.labels_per_item = 1
    campaign.save()
    item = lease_next(labeller=labeller, campaign=campaign)
    Lease.objects.filter(labeller=labeller).update(expires_at=timezone.now() - timedelta(seconds=1))
    created = label_submit(
        item_id=item.pk,
        labeller=labeller,
        value={"choice": "a"},
        idempotency_key="k",
        campaign=None,
        lease_next=False,
    ).created
    assert created

    second = lease_next(labeller=labeller, campaign=campaign)
    Lease.objects.filter(labeller=labeller).update(expires_at=timezone.now() - timedelta(seconds=1))
    Item.objects.filter(pk=second.pk).update(priority=5)
    assert lease_next(labeller=other_labeller, campaign=campaign) == second
    with pytest.raises(ApplicationError, match="ran out"):
        label_submit(
            item_id=second.pk,
            labeller=labeller,
            value={"choice": "a"},
            idempotency_key="k2",
            campaign=None,
            lease_next=False,
        )


def label_and_next(item, labeller, campaign, key, choice="a"):
    return label_submit(
        labeller=labeller,
        campaign=campaign.name,
        item_id=item.pk,
        value={"choice": choice},
        idempotency_key=key,
        lease_next=True,
    )


def test_label_and_next_stores_the_label_and_leases_my_next_item(campaign, pairwise_items, labeller):
    item = lease_next(labeller=labeller, campaign=campaign)
    done = label_and_next(item, labeller, campaign, "k1")
    assert done.created and done.refusal is None and done.label.item_id == item.pk
    assert done.next_item is not None and done.next_item != item
    assert list(Lease.objects.filter(labeller=labeller).values_list("item_id", flat=True)) == [
        done.next_item.pk
    ]
    assert Item.objects.get(pk=item.pk).label_count == 1


def test_label_and_next_retried_gives_the_first_label_and_the_same_next_item(
    campaign, pairwise_items, labeller
):
    item = lease_next(labeller=labeller, campaign=campaign)
    first = label_and_next(item, labeller, campaign, "k1")
    again = label_and_next(item, labeller, campaign, "k1", choice="b")
    assert (again.created, again.label.pk, again.next_item) == (False, first.label.pk, first.next_item)
    assert Label.objects.count() == 1 and Item.objects.get(pk=item.pk).label_count == 1


def test_label_and_next_keeps_the_label_when_the_next_is_refused(campaign, pairwise_items, labeller):
    item = lease_next(labeller=labeller, campaign=campaign)
    campaign.min_gold_accuracy, campaign.min_gold_labels = 0.9, 1
    campaign.save()
    Item.objects.filter(pk=item.pk).update(is_gold=True, gold_value={"choice": "tie"})
    done = label_and_next(item, labeller, campaign, "k1")  # wrong: accuracy 0% from this label on
    assert done.created and done.next_item is None
    assert done.refusal.message == "Gold accuracy 0% is below the campaign's 90%"
    assert Label.objects.get().item_id == item.pk and not Lease.objects.exists()


def test_label_and_next_in_a_campaign_closed_meanwhile_stores_nothing(campaign, pairwise_items, labeller):
    item = lease_next(labeller=labeller, campaign=campaign)
    campaign.status = CampaignStatus.PAUSED
    campaign.save()
    with pytest.raises(NotFoundError, match="Campaign 'prefs' does not exist or is not open to you."):
        label_and_next(item, labeller, campaign, "k1")
    assert Label.objects.count() == 0 and Lease.objects.filter(labeller=labeller).exists()


def test_label_and_next_of_an_item_not_mine_or_of_a_reused_key_fails_and_stores_nothing(
    campaign, pairwise_items, labeller, other_labeller
):
    theirs = lease_next(labeller=other_labeller, campaign=campaign)
    with pytest.raises(NotFoundError):
        label_and_next(theirs, labeller, campaign, "k1")
    mine = lease_next(labeller=labeller, campaign=campaign)
    label_and_next(mine, labeller, campaign, "k1")
    following = Lease.objects.get(labeller=labeller).item
    with pytest.raises(ApplicationError, match="already used for another item"):
        label_and_next(following, labeller, campaign, "k1")
    assert Label.objects.count() == 1 and Lease.objects.filter(labeller=labeller, item=following).exists()
