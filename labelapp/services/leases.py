"""Hand out items: one short transaction, never more live leases + labels than the campaign wants.

Order: my own live lease first; then, at the campaign's gold rate, a gold item; then items already partly
labelled (finish what is started); then by priority; then at random. Skipped items never come back to the
labeller who skipped them. On PostgreSQL candidate rows are taken with SELECT ... FOR UPDATE SKIP LOCKED, so
concurrent labellers never wait on each other; SQLite serialises writers (BEGIN IMMEDIATE).
"""

import random
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from labelapp.errors import NotFoundError, RefusedError
from labelapp.models import Campaign, CampaignStatus, Item, Label, Lease, Skip
from labelapp.selectors.counts import related_count
from labelapp.selectors.labellers import labeller_refusal


def _not_yet_mine(campaign: Campaign, labeller: AbstractBaseUser) -> QuerySet[Item]:
    return (
        Item.objects.filter(campaign=campaign)
        .exclude(Q(labels__labeller=labeller))
        .exclude(Q(skips__labeller=labeller))
    )


def _locked(items: QuerySet[Item]) -> QuerySet[Item]:
    if connection.features.has_select_for_update_skip_locked:
        return items.select_for_update(skip_locked=True, of=("self",))
    return items


def _open_items(campaign: Campaign, labeller: AbstractBaseUser) -> QuerySet[Item]:
    """Items with room for me, walked in the assignment index's order (started first, priority, random)."""
    live_leases = related_count(Lease, "item", expires_at__gt=timezone.now())
    items = (
        _not_yet_mine(campaign, labeller)
        .filter(is_gold=False, label_count__lt=campaign.labels_per_item)
        .alias(lease_count=live_leases)
        .alias(taken=F("label_count") + F("lease_count"))
        .filter(taken__lt=campaign.labels_per_item)
        .order_by("-label_count", "-priority", "order_key")
    )
    return _locked(items)


def _has_room(item: Item, campaign: Campaign) -> bool:
    """Counted again after the item's row lock is held: a statement that started before another labeller's
    lease committed may have seen stale counts (PostgreSQL re-checks only the locked row, not subqueries)."""
    live = Lease.objects.filter(item=item, expires_at__gt=timezone.now()).count()
    return Label.objects.filter(item=item).count() + live < campaign.labels_per_item


def _gold_item(campaign: Campaign, labeller: AbstractBaseUser) -> Item | None:
    """Gold items have no label cap: every labeller may be scored on each of them once."""
    if campaign.gold_rate <= 0 or random.random() >= campaign.gold_rate:
        return None
    return _locked(_not_yet_mine(campaign, labeller).filter(is_gold=True).order_by("?")).first()


def _first_open_item(campaign: Campaign, labeller: AbstractBaseUser, attempts: int = 5) -> Item | None:
    passed: list[int] = []
    for _ in range(attempts):
        item = _open_items(campaign, labeller).exclude(pk__in=passed).first()
        if item is None or _has_room(item, campaign):
            return item
        passed.append(item.pk)
    return None


def _expires_at(campaign: Campaign) -> timezone.datetime:
    return timezone.now() + timedelta(seconds=campaign.lease_seconds)


@transaction.atomic
def lease_next(*, labeller: AbstractBaseUser, campaign: Campaign) -> Item | None:
    """Resume my live lease in this campaign, else lease a new item; None when nothing is left for me.

    Raises RefusedError, saying why, when the campaign is paused or the labeller may not label it.
    """
    if campaign.status != CampaignStatus.ACTIVE:
        raise RefusedError(f"Campaign '{campaign.name}' is {campaign.get_status_display().lower()}.")
    refusal = labeller_refusal(labeller=labeller, campaign=campaign)
    if refusal:
        raise RefusedError(refusal)
    now = timezone.now()
    own = (
        Lease.objects.select_for_update()
        .filter(labeller=labeller, item__campaign=campaign, expires_at__gt=now)
        .exclude(item__labels__labeller=labeller)
        .select_related("item")
        .first()
    )
    if own is not None:
        own.expires_at = _expires_at(campaign)
        own.save(update_fields=["expires_at"])
        return own.item
    item = _gold_item(campaign, labeller) or _first_open_item(campaign, labeller)
    if item is None:
        return None
    Lease.objects.update_or_create(
        item=item, labeller=labeller, defaults={"expires_at": _expires_at(campaign), "created_at": now}
    )
    return item


def _my_lease(*, labeller: AbstractBaseUser, item_id: int) -> Lease:
    lease = (
        Lease.objects.select_for_update()
        .select_related("item__campaign")
        .filter(item_id=item_id, labeller=labeller)
        .first()
    )
    if lease is None:
        raise NotFoundError(f"Item {item_id} is not leased to you.", {"field": "item"})
    return lease


@transaction.atomic
def lease_renew(*, labeller: AbstractBaseUser, item_id: int) -> Lease:
    """Keep my lease alive while the page is open (the page's heartbeat calls this)."""
    lease = _my_lease(labeller=labeller, item_id=item_id)
    lease.expires_at = _expires_at(lease.item.campaign)
    lease.save(update_fields=["expires_at"])
    return lease


@transaction.atomic
def item_skip(*, labeller: AbstractBaseUser, item_id: int, reason: str = "") -> Skip:
    """Pass on an item: it returns to the pool for others and never comes back to me."""
    lease = _my_lease(labeller=labeller, item_id=item_id)
    skip = Skip(item=lease.item, labeller=labeller, reason=reason.strip()[:500])
    skip.full_clean(exclude=["item", "labeller"])
    skip.save()
    lease.delete()
    return skip


@transaction.atomic
def leases_release(*, labeller: AbstractBaseUser | None = None, items: QuerySet[Item] | None = None) -> int:
    """An admin hands leased items back to the pool: a labeller's, or the given items'."""
    leases = Lease.objects.all()
    if labeller is not None:
        leases = leases.filter(labeller=labeller)
    if items is not None:
        leases = leases.filter(item__in=items)
    deleted, _ = leases.delete()
    return deleted
