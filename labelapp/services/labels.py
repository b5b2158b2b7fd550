"""Store labels: `label_submit`, the one write of the labelling loop, for the page and the API alike.

A label ends its lease; with `lease_next` the labeller's next item is leased in the same transaction, so a
label costs one request and one commit.

The statements are written in SQL, as in services/leases.py: the ORM's own CPU per statement was more
than the database's.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from labelapp.errors import ApplicationError, NotFoundError
from labelapp.kinds import item_shape, kind_get
from labelapp.models import Item, Label, Lease
from labelapp.selectors.items import LeasedItem, leased_item_get_for_labeller
from labelapp.services.continuations import continuation_mark_due
from labelapp.services.leases import lease_has_room, lease_next_in_transaction
from labelapp.services.overlap import item_labels_wanted_decide, item_settled
from labelapp.services.reviews import review_mark_due
from labelapp.services.selection import selection_refresh_due
from labelapp.user_text import text_check


@dataclass(frozen=True)
class LabelOutcome:
    label: Label
    created: bool  # False: the idempotency key's earlier label
    next_item: Item | None  # with lease_next: leased to the labeller; None when nothing is left, or `refusal`
    refusal: ApplicationError | None  # with lease_next: why no next item could be leased (refused, busy)


def label_submit(
    *,
    labeller: User,
    campaign: str | None,
    item_id: int,
    value: dict[str, Any],
    idempotency_key: str,
    lease_next: bool,
) -> LabelOutcome:
    """Store a labeller's judgement of an item leased to them in the campaign named (None: the API routes
    that name none) and, with `lease_next`, lease their next item of that campaign, in one transaction.

    The value names shown positions; it is stored in canonical order. The label is kept whatever happens to
    the next lease: a refusal or "busy" is returned, not raised. Submitting again with the same idempotency
    key returns the first label instead of failing (and resumes the lease taken then), so a retried request
    stores one label.
    """
    _idempotency_key_check(idempotency_key)
    try:
        with transaction.atomic():
            leased = leased_item_get_for_labeller(
                labeller=labeller, item_id=item_id, campaign=campaign, for_update=True
            )
            label = _label_write(leased, labeller=labeller, value=value, idempotency_key=idempotency_key)
            return _outcome(label, created=True, lease_next=lease_next)
    except (NotFoundError, IntegrityError) as failure:
        earlier = _earlier_label(
            failure, labeller=labeller, campaign=campaign, item_id=item_id, idempotency_key=idempotency_key
        )
    if not lease_next:
        return _outcome(earlier, created=False, lease_next=False)
    with transaction.atomic():
        return _outcome(earlier, created=False, lease_next=True)


def _outcome(label: Label, *, created: bool, lease_next: bool) -> LabelOutcome:
    """In the caller's transaction: the label, and with `lease_next` the labeller's next item of its campaign.
    lease_next raises its refusals (paused, suspended, busy) before it writes anything, so they are caught
    here and the label is still committed."""
    if not lease_next:
        return LabelOutcome(label, created, None, None)
    try:
        following = lease_next_in_transaction(labeller=label.labeller, campaign=label.item.campaign)
    except ApplicationError as refusal:
        return LabelOutcome(label, created, None, refusal)
    return LabelOutcome(label, created, following, None)


def _idempotency_key_check(idempotency_key: str) -> None:
    if not idempotency_key or len(idempotency_key) > 64:
        raise ApplicationError(
            "Field 'idempotency_key' must be 1 to 64 characters.", {"field": "idempotency_key"}
        )
    text_check(idempotency_key, field="idempotency_key")


def _earlier_label(
    failure: Exception, *, labeller: User, campaign: str | None, item_id: int, idempotency_key: str
) -> Label:
    """After a failed write: the label this idempotency key stored before, or why the write failed.

    The write fails without a lease (the first request stored its label and ended the lease) or on a
    unique constraint; the earlier label is looked up only then, so a first submission runs no lookup.
    """
    earlier = (
        Label.objects.select_related("item__campaign")
        .filter(labeller=labeller, idempotency_key=idempotency_key)
        .first()
    )
    if earlier is None:
        if isinstance(failure, IntegrityError):
            raise ApplicationError("You have already labelled this item.", {"field": "item"}) from None
        raise failure
    if earlier.item_id != item_id:
        raise ApplicationError(
            "This idempotency key was already used for another item.", {"field": "idempotency_key"}
        ) from None
    if campaign is not None and earlier.item.campaign.name != campaign:
        raise NotFoundError(
            f"Item {item_id} is not leased to you in campaign '{campaign}'.", {"field": "item"}
        )
    earlier.labeller = labeller
    return earlier


def _label_write(leased: LeasedItem, *, labeller: User, value: dict[str, Any], idempotency_key: str) -> Label:
    """In the caller's transaction, on an item the caller locked: the label stored, the lease ended, the
    item's label count raised."""
    item = leased.item
    task_kind = kind_get(item.kind)
    cleaned = task_kind.label_validate(
        value, shape=item_shape(campaign=item.campaign, candidate_count=len(leased.shown_indices))
    )
    now = timezone.now()
    _capacity_check(leased, now)
    canonical = task_kind.label_to_canonical(cleaned, leased.shown_indices)
    label = Label(
        item=item,
        labeller=labeller,
        value=canonical,
        gold_correct=task_kind.gold_matches(canonical, item.gold_value) if item.is_gold else None,
        seconds_spent=round((now - leased.lease.created_at).total_seconds(), 2),
        idempotency_key=idempotency_key,
        shown_order=leased.shown_indices,
    )
    # Its unique constraints are the database's to check, in the INSERT (see _earlier_label).
    label.full_clean(exclude=["item", "labeller"], validate_unique=False, validate_constraints=False)
    _label_insert_ending_lease(label, leased.lease)
    item.label_count += 1
    item_labels_wanted_decide(item=item)
    continuation_mark_due(item=item)
    review_mark_due(item=item)
    selection_refresh_due(item=item)
    return label


_INSERTED_FIELDS = [field for field in Label._meta.concrete_fields if not field.primary_key]


def _label_insert_ending_lease(label: Label, lease: Lease) -> None:
    """INSERT the label (as Model.save would, without the rest of Model.save), DELETE the lease, and
    raise the item's label_count, which is kept under the item's row lock (held since the lease was read).

    One statement on PostgreSQL (data-modifying CTEs), three elsewhere. No savepoint: a unique violation
    ends the transaction, and the caller says why.
    """
    values = [field.get_db_prep_save(field.pre_save(label, True), connection) for field in _INSERTED_FIELDS]
    columns = ", ".join(connection.ops.quote_name(cast(str, field.column)) for field in _INSERTED_FIELDS)
    insert = f"INSERT INTO {Label._meta.db_table} ({columns}) VALUES ({', '.join(['%s'] * len(values))}) RETURNING id"
    count = f"UPDATE {Item._meta.db_table} SET label_count = label_count + 1 WHERE id = %s"
    end = f"DELETE FROM {Lease._meta.db_table} WHERE id = %s"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH ended AS ({end}), counted AS ({count}) {insert}", [lease.pk, label.item_id, *values]
            )
            label.pk = cursor.fetchone()[0]
        else:
            cursor.execute(insert, values)
            label.pk = cursor.fetchone()[0]
            cursor.execute(count, [label.item_id])
            cursor.execute(end, [lease.pk])
    label._state.adding, label._state.db = False, connection.alias


def _capacity_check(leased: LeasedItem, now: datetime) -> None:
    """Never more labels on an item than it asks for, whatever the lease says (gold items have no cap). A
    lease that expired is still honoured while the item has room for it, as a new lease would be."""
    item, lease = leased.item, leased.lease
    if item.is_gold:
        return
    if lease.expires_at <= now and not lease_has_room(lease=lease, now=now):
        raise ApplicationError(
            "Your time on this item ran out and others have taken it. Here is another one."
        )
    if item_settled(item=item):
        raise ApplicationError("Others have given this item all the labels it needs. Here is another one.")
