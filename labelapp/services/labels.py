from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from labelapp.errors import ApplicationError
from labelapp.kinds import item_shape, kind_get
from labelapp.models import Item, Label, Lease
from labelapp.selectors.items import item_get_for_labeller, item_shown_indices


@transaction.atomic
def item_submit_label(
    *, item_id: int, labeller: AbstractBaseUser, value: dict[str, Any], idempotency_key: str
) -> tuple[Label, bool]:
    """Store a labeller's judgement of an item leased to them; returns (label, created).

    The value names shown positions; it is stored in canonical order. Submitting again with the same
    idempotency key returns the first label instead of failing, so a retried request stores one label.
    """
    if not idempotency_key or len(idempotency_key) > 64:
        raise ApplicationError(
            "Field 'idempotency_key' must be 1 to 64 characters.", {"field": "idempotency_key"}
        )
    earlier = Label.objects.filter(labeller=labeller, idempotency_key=idempotency_key).first()
    if earlier is not None:
        if earlier.item_id != item_id:
            raise ApplicationError(
                "This idempotency key was already used for another item.", {"field": "idempotency_key"}
            )
        return earlier, False
    item = item_get_for_labeller(labeller=labeller, item_id=item_id, for_update=True)
    lease = Lease.objects.get(item=item, labeller=labeller)
    task_kind = kind_get(item.kind)
    shown_indices = item_shown_indices(item)
    cleaned = task_kind.label_validate(
        value, shape=item_shape(campaign=item.campaign, candidate_count=len(shown_indices))
    )
    if Label.objects.filter(item=item, labeller=labeller).exists():
        raise ApplicationError("You have already labelled this item.", {"field": "item"})
    _capacity_check(item, lease)
    canonical = task_kind.label_to_canonical(cleaned, shown_indices)
    label = Label(
        item=item,
        labeller=labeller,
        value=canonical,
        gold_correct=task_kind.gold_matches(canonical, item.gold_value) if item.is_gold else None,
        seconds_spent=round((timezone.now() - lease.created_at).total_seconds(), 2),
        idempotency_key=idempotency_key,
    )
    label.full_clean(exclude=["item", "labeller"])
    try:
        with transaction.atomic():
            label.save()
    except IntegrityError:
        raise ApplicationError("You have already labelled this item.", {"field": "item"}) from None
    Item.objects.filter(pk=item.pk).update(label_count=F("label_count") + 1)
    lease.delete()
    return label, True


def _capacity_check(item: Item, lease: Lease) -> None:
    """A lease that expired may still be honoured, unless others have since filled the item."""
    if lease.expires_at > timezone.now() or item.is_gold:
        return
    live_others = item.leases.filter(expires_at__gt=timezone.now()).exclude(pk=lease.pk).count()
    if item.labels.count() + live_others >= item.campaign.labels_per_item:
        raise ApplicationError(
            "Your time on this item ran out and others have taken it. Here is another one."
        )
