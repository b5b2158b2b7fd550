"""Adjudication: items whose labellers disagree go to a review queue, where a reviewer gives the final label.

1. The label that settles an item (services/overlap.py `item_settled`) in a campaign with `review_below` set reads the item's
   labels and, when the kind's agreement is below the threshold, queues the item (`review_mark_due`), in
   the label's own transaction and under the item's row lock.
2. A labeller with the reviewer skill takes the next queued item (`review_next`): it is reserved to them
   for the campaign's lease time, so two reviewers never take the same item (PostgreSQL: SELECT ... FOR
   UPDATE SKIP LOCKED, as leases are taken). A reviewer is never given an item they labelled.
3. Their final label (`item_adjudicate`) is stored in canonical order and the item leaves the queue.
   Exports read it as the item's consensus (selectors/records.py).
"""

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from labelapp.errors import NotFoundError
from labelapp.kinds import item_shape, kind_get
from labelapp.kinds.base import text_field
from labelapp.models import Adjudication, Campaign, Item, Label, ReviewItem
from labelapp.selectors.items import item_shown_order
from labelapp.services.overlap import item_settled

RATIONALE_MAX_CHARS = 5000


def review_mark_due(*, item: Item) -> None:
    """In the transaction of a label just written on the item (locked by the caller; its label_count
    counts that label): queue it for review if the campaign adjudicates, the item is settled and its labels agree less
    than the campaign's `review_below`."""
    threshold = item.campaign.review_below
    if threshold is None or not item_settled(item=item):
        return
    values = list(Label.objects.filter(item=item).order_by("id").values_list("value", flat=True))
    agreement = kind_get(item.kind).aggregate(values).agreement
    if agreement < threshold:
        # A retried or racing settle of the same item queues it once (one row per item).
        ReviewItem.objects.bulk_create(
            [ReviewItem(item=item, campaign=item.campaign, agreement=agreement)], ignore_conflicts=True
        )


def _reserved_until(campaign: Campaign) -> Any:
    return timezone.now() + timedelta(seconds=campaign.lease_seconds)


@transaction.atomic
def review_next(*, reviewer: User, campaign: Campaign) -> ReviewItem | None:
    """The reviewer's reservation in this campaign, renewed, else the oldest queued item free to them,
    reserved; None when the queue holds nothing for them."""
    now = timezone.now()
    queue = ReviewItem.objects.filter(campaign=campaign).select_related("item__campaign")
    mine = queue.filter(reviewer=reviewer, reserved_until__gt=now).select_for_update(of=("self",)).first()
    if mine is None:
        labelled = Label.objects.filter(item_id=OuterRef("item_id"), labeller=reviewer)
        mine = (
            queue.filter(Q(reserved_until__isnull=True) | Q(reserved_until__lte=now))
            .exclude(Exists(labelled))
            .order_by("id")
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
        if mine is None:
            return None
        mine.reviewer = reviewer
    mine.reserved_until = _reserved_until(campaign)
    mine.save(update_fields=["reviewer", "reserved_until"])
    return mine


def review_get_for_reviewer(*, reviewer: User, campaign: Campaign, item_id: int) -> ReviewItem:
    """The queued item reserved to this reviewer in this campaign, locked; otherwise 404."""
    review = (
        ReviewItem.objects.select_related("item__campaign")
        .select_for_update(of=("self",))
        .filter(campaign=campaign, item_id=item_id, reviewer=reviewer)
        .first()
    )
    if review is None:
        raise NotFoundError(
            f"Item {item_id} is not reserved to you for review in campaign '{campaign.name}'.",
            {"field": "item"},
        )
    return review


@transaction.atomic
def item_adjudicate(
    *, reviewer: User, campaign: Campaign, item_id: int, value: dict[str, Any], rationale: str
) -> Adjudication:
    """Store the reviewer's final label of an item reserved to them (the value names shown positions; it
    is stored in canonical order) and take the item off the queue. A reservation that ran out is still
    honoured while no other reviewer has taken the item."""
    review = review_get_for_reviewer(reviewer=reviewer, campaign=campaign, item_id=item_id)
    item = review.item
    shown = item_shown_order(item=item, labeller=reviewer).indices
    task_kind = kind_get(item.kind)
    cleaned = task_kind.label_validate(value, shape=item_shape(campaign=campaign, candidate_count=len(shown)))
    adjudication = Adjudication(
        item=item,
        reviewer=reviewer,
        value=task_kind.label_to_canonical(cleaned, shown),
        rationale=text_field({"rationale": rationale}, "rationale", RATIONALE_MAX_CHARS),
    )
    adjudication.full_clean(exclude=["item", "reviewer"])
    adjudication.save()
    review.delete()
    return adjudication
