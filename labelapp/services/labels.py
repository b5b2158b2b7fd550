from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from labelapp.errors import ApplicationError, NotFoundError
from labelapp.kinds import item_shape, kind_get
from labelapp.models import Campaign, Item, Label, Lease
from labelapp.selectors.items import item_lease_get_for_labeller, item_shown_indices


def item_submit_label(
    *,
    item_id: int,
    labeller: AbstractBaseUser,
    value: dict[str, Any],
    idempotency_key: str,
    campaign: Campaign | None = None,
) -> tuple[Label, bool]:
    """Store a labeller's judgement of an item leased to them (in `campaign`, when given); returns
    (label, created).

    The value names shown positions; it is stored in canonical order. Submitting again with the same
    idempotency key returns the first label instead of failing, so a retried request stores one label.
    The write is one transaction (`_label_store`); the earlier label is looked up only when it fails.
    """
    if not idempotency_key or len(idempotency_key) > 64:
        raise ApplicationError(
            "Field 'idempotency_key' must be 1 to 64 characters.", {"field": "idempotency_key"}
        )
    try:
        label = _label_store(
            item_id=item_id,
            labeller=labeller,
            value=value,
            idempotency_key=idempotency_key,
            campaign=campaign,
        )
    except (NotFoundError, IntegrityError) as failure:
        # No lease (the first request already stored its label and ended the lease), or a unique constraint.
        earlier = Label.objects.filter(labeller=labeller, idempotency_key=idempotency_key).first()
        if earlier is None:
            if isinstance(failure, IntegrityError):
                raise ApplicationError("You have already labelled this item.", {"field": "item"}) from None
            raise
        if earlier.item_id != item_id:
            raise ApplicationError(
                "This idempotency key was already used for another item.", {"field": "idempotency_key"}
            ) from None
        return earlier, False
    return label, True


@transaction.atomic
def _label_store(
    *,
    item_id: int,
    labeller: AbstractBaseUser,
    value: dict[str, Any],
    idempotency_key: str,
    campaign: Campaign | None,
) -> Label:
    lease = item_lease_get_for_labeller(
        labeller=labeller, item_id=item_id, campaign=campaign, for_update=True
    )
    item = lease.item
    task_kind = kind_get(item.kind)
    shown_indices = item_shown_indices(item)
    cleaned = task_kind.label_validate(
        value, shape=item_shape(campaign=item.campaign, candidate_count=len(shown_indices))
    )
    now = timezone.now()
    _capacity_check(item, lease, now)
    canonical = task_kind.label_to_canonical(cleaned, shown_indices)
    label = Label(
        item=item,
        labeller=labeller,
        value=canonical,
        gold_correct=task_kind.gold_matches(canonical, item.gold_value) if item.is_gold else None,
        seconds_spent=round((now - lease.created_at).total_seconds(), 2),
        idempotency_key=idempotency_key,
    )
    label.full_clean(exclude=["item", "labeller"])
    with connection.cursor() as cursor:
        # No savepoint around the insert: a unique violation ends this transaction, and the caller says why.
        _label_insert(cursor, label)
        # label_count is kept under the item's row lock (held since item_lease_get_for_labeller).
        cursor.execute(
            f"UPDATE {Item._meta.db_table} SET label_count = label_count + 1 WHERE id = %s", [item.pk]
        )
        cursor.execute(f"DELETE FROM {Lease._meta.db_table} WHERE id = %s", [lease.pk])
    return label


_INSERTED_FIELDS = [field for field in Label._meta.concrete_fields if not field.primary_key]


def _label_insert(cursor: CursorWrapper, label: Label) -> None:
    """Model.save's INSERT without the rest of Model.save, which cost more CPU than the statement."""
    values = [field.get_db_prep_save(field.pre_save(label, True), connection) for field in _INSERTED_FIELDS]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in _INSERTED_FIELDS)
    cursor.execute(
        f"INSERT INTO {Label._meta.db_table} ({columns}) VALUES ({', '.join(['%s'] * len(values))}) RETURNING id",
        values,
    )
    label.pk = cursor.fetchone()[0]
    label._state.adding, label._state.db = False, connection.alias


def _capacity_check(item: Item, lease: Lease, now: datetime) -> None:
    """A lease that expired may still be honoured, unless others have since filled the item."""
    if lease.expires_at > now or item.is_gold:
        return
    live_others = Lease.objects.filter(item=item, expires_at__gt=now).exclude(pk=lease.pk).count()
    if item.label_count + live_others >= item.campaign.labels_per_item:
        raise ApplicationError(
            "Your time on this item ran out and others have taken it. Here is another one."
        )
