from datetime import timedelta

import pytest
from django.utils import timezone

from labelapp.errors import ApplicationError, NotFoundError
from labelapp.models import Item, Label, Lease
from labelapp.selectors.items import item_shown_indices
from labelapp.services.labels import item_submit_label
from labelapp.services.leases import lease_next


def shown_first_is_canonical_a(item) -> bool:
    return item_shown_indices(item)[0] == 0


def test_label_is_stored_in_canonical_order(campaign, pairwise_items, labeller):
    orders = set()
    while (item := lease_next(labeller=labeller, campaign=campaign)) is not None:
        label, created = item_submit_label(
            item_id=item.pk,
            labeller=labeller,
            value={"choice": "a", "strength": "clear"},
            idempotency_key=str(item.pk),
        )
        expected = "a" if shown_first_is_canonical_a(item) else "b"
        orders.add(expected)
        assert created and label.value == {"choice": expected, "strength": "clear", "rationale": ""}
    assert orders == {"a", "b"}  # seed 1 shows the three items in both orders


def test_time_spent_is_measured_from_the_lease(campaign, pairwise_items, labeller):
    item = lease_next(labeller=labeller, campaign=campaign)
    Lease.objects.filter(item=item).update(created_at=timezone.now() - timedelta(seconds=42))
    label, _ = item_submit_label(
        item_id=item.pk, labeller=labeller, value={"choice": "tie"}, idempotency_key="k"
    )
    assert 41 < label.seconds_spent < 60


def test_the_same_idempotency_key_stores_one_label(campaign, pairwise_items, labeller):
    item = lease_next(labeller=labeller, campaign=campaign)
    first, created = item_submit_label(
        item_id=item.pk, labeller=labeller, value={"choice": "b"}, idempotency_key="k1"
    )
    again, created_again = item_submit_label(
        item_id=item.pk, labeller=labeller, value={"choice": "b"}, idempotency_key="k1"
    )
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
    ],
)
def test_a_value_the_kind_does_not_allow_names_the_field_and_saves_nothing(
    campaign, pairwise_items, labeller, value, field
):
    item = lease_next(labeller=labeller, campaign=campaign)
    with pytest.raises(ApplicationError) as raised:
        item_submit_label(item_id=item.pk, labeller=labeller, value=value, idempotency_key="k")
    assert raised.value.extra["field"] == field and field in raised.value.message
    assert Label.objects.count() == 0 and Lease.objects.filter(item=item, labeller=labeller).exists()


def test_an_item_not_leased_to_me_is_not_found(campaign, pairwise_items, labeller, other_labeller):
    theirs = lease_next(labeller=other_labeller, campaign=campaign)
    with pytest.raises(NotFoundError):
        item_submit_label(item_id=theirs.pk, labeller=labeller, value={"choice": "a"}, idempotency_key="k")
    with pytest.raises(NotFoundError):
        item_submit_label(item_id=999999, labeller=labeller, value={"choice": "a"}, idempotency_key="k2")


def test_an_expired_lease_is_honoured_unless_others_filled_the_item(
    campaign, pairwise_items, labeller, other_labeller
):
    campaign.labels_per_item = 1
    campaign.save()
    item = lease_next(labeller=labeller, campaign=campaign)
    Lease.objects.filter(labeller=labeller).update(expires_at=timezone.now() - timedelta(seconds=1))
    _, created = item_submit_label(
        item_id=item.pk, labeller=labeller, value={"choice": "a"}, idempotency_key="k"
    )
    assert created

    second = lease_next(labeller=labeller, campaign=campaign)
    Lease.objects.filter(labeller=labeller).update(expires_at=timezone.now() - timedelta(seconds=1))
    Item.objects.filter(pk=second.pk).update(priority=5)
    assert lease_next(labeller=other_labeller, campaign=campaign) == second
    with pytest.raises(ApplicationError, match="ran out"):
        item_submit_label(item_id=second.pk, labeller=labeller, value={"choice": "a"}, idempotency_key="k2")
