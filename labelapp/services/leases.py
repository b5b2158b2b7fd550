"""Hand out items: one short transaction, never more live leases + labels than the campaign wants.

An item takes labels up to what it asks for now (`labels_wanted`, services/overlap.py), never more than
the campaign's k. Order: my own live lease first; then, at the campaign's gold rate, a gold item; then
items already partly labelled (finish what is started); then by priority; then at random. Skipped items
never come back to the labeller who skipped them. On PostgreSQL candidate rows are taken with
SELECT ... FOR UPDATE SKIP LOCKED, so concurrent labellers never wait on each other; SQLite serialises
writers (BEGIN IMMEDIATE).

The statements of `lease_next` are written in SQL: every label runs them, and the ORM spends more CPU
building one of them (0.3 to 1.4 ms) than the database spends running it.
"""

import random
import time
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from labelapp.errors import BusyError, RefusedError
from labelapp.models import Campaign, CampaignStatus, Item, Label, Lease, Skip
from labelapp.selectors.items import ITEM_COLUMNS, leased_item_get_for_labeller
from labelapp.selectors.labellers import labeller_refusal
from labelapp.services.overlap import labels_cap
from labelapp.user_text import text_check

# Items locked per look at the queue: when one was taken meanwhile by another labeller (under 1% of looks
# with 32 labellers), the next is already mine to try.
CANDIDATES = 2
LOOKS = 40  # looks at the queue before answering "busy, retry" rather than wrongly "nothing left"
LOCKED_PAUSE_SECONDS = 0.005  # between looks, while every open item is locked by another labeller's lease

ITEM, LEASE, LABEL, SKIP = (model._meta.db_table for model in (Item, Lease, Label, Skip))


def _for_update(of: str = "", *, skip_locked: bool = False) -> str:
    """Row locks where the database has them (PostgreSQL); SQLite's write transaction already excludes others."""
    features = connection.features
    if not features.has_select_for_update:
        return ""
    clause = " FOR UPDATE"
    if of and features.has_select_for_update_of:
        clause += f" OF {of}"
    if skip_locked and features.has_select_for_update_skip_locked:
        clause += " SKIP LOCKED"
    return clause


def _db_time(moment: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


def _expires_at(campaign: Campaign, now: datetime) -> datetime:
    return now + timedelta(seconds=campaign.lease_seconds)


def _items(sql: str, params: list[Any]) -> list[Item]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [ITEM_COLUMNS.instance(row) for row in cursor.fetchall()]


def _own_live_lease(campaign: Campaign, labeller: User, now: datetime) -> Item | None:
    """My live lease in this campaign, renewed, if I have one on an item that still wants labels (a submit
    on a full item is refused, so serving it again would never end)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT {ITEM_COLUMNS}, l.id
            FROM {LEASE} l JOIN {ITEM} i ON i.id = l.item_id
            WHERE l.labeller_id = %s AND i.campaign_id = %s AND l.expires_at > %s
                AND (i.is_gold = %s OR (i.label_count < %s AND i.label_count < i.labels_wanted))
                AND NOT EXISTS (SELECT 1 FROM {LABEL} b WHERE b.item_id = l.item_id AND b.labeller_id = %s)
            LIMIT 1{_for_update("l")}
            """,
            [labeller.pk, campaign.pk, _db_time(now), True, campaign.labels_per_item, labeller.pk],
        )
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(
            f"UPDATE {LEASE} SET expires_at = %s WHERE id = %s",
            [_db_time(_expires_at(campaign, now)), row[-1]],
        )
    return ITEM_COLUMNS.instance(row)


def _not_mine_sql() -> str:
    """Items I have neither labelled nor skipped (one labeller parameter each)."""
    return (
        f"NOT EXISTS (SELECT 1 FROM {LABEL} b WHERE b.item_id = i.id AND b.labeller_id = %s)"
        f" AND NOT EXISTS (SELECT 1 FROM {SKIP} s WHERE s.item_id = i.id AND s.labeller_id = %s)"
    )


def _gold_item(campaign: Campaign, labeller: User) -> Item | None:
    """Gold items have no label cap: every labeller may be scored on each of them once."""
    if campaign.gold_rate <= 0 or random.random() >= campaign.gold_rate:
        return None
    items = _items(
        f"""
        SELECT {ITEM_COLUMNS} FROM {ITEM} i
        WHERE i.campaign_id = %s AND i.is_gold = %s AND {_not_mine_sql()}
        ORDER BY random() LIMIT 1{_for_update(skip_locked=True)}
        """,
        [campaign.pk, True, labeller.pk, labeller.pk],
    )
    return items[0] if items else None


def _open_sql(alias: str) -> str:
    """The item still asks for labels, and has fewer than k (parameter: k). Its first term is the
    assignment index's condition, so the look walks that index and never the items settled early."""
    return f"{alias}.label_count < {alias}.labels_wanted AND {alias}.label_count < %s"


def _room_sql(alias: str) -> str:
    """Room for one more lease on the item (as of this statement): its labels and live leases under what
    it asks for and under k (parameters: now, k)."""
    fewer = "MIN" if connection.vendor == "sqlite" else "LEAST"
    return (
        f"{alias}.label_count + (SELECT COUNT(*) FROM {LEASE} l WHERE l.item_id = {alias}.id"
        f" AND l.expires_at > %s) < {fewer}({alias}.labels_wanted, %s)"
    )


class Look(Enum):
    """Where `_open_items_locked` looks for an item, in this order (the README's queue section says it)."""

    FRONT = "front"  # the first FRONT_LOOK items with room, in the queue's order
    UNTOUCHED = "untouched"  # items no one has labelled yet
    EVERY = "every"  # every item with room, in the queue's order: partly labelled first (the rule, unbounded)


# Why a bounded look: a labeller far ahead of the others has labelled most of the partly labelled items
# themselves, and those come first in the queue's order, each rejected by one NOT EXISTS; one unbounded
# statement scanned them all (PostgreSQL: 90 ms at 10,000 such items, linear). The look examines at most
# this many, so a next item costs the same whatever the backlog (bench/next_item.py); a labeller who has
# labelled or skipped all of them gets an untouched item, and the partly labelled ones behind wait for the
# others, whose own look starts at the front of the same order. Everyone else finds their item in the
# look's first rows: one statement, which stops there.
FRONT_LOOK = 64


def _open_items_sql(
    campaign: Campaign, labeller: User, now: datetime, passed: list[int], look: Look
) -> tuple[str, list[Any]]:
    """Items with room for me (as of this statement) that I have neither labelled nor skipped, in the
    assignment index's order: FROM ... ORDER BY, for the caller's SELECT."""
    k = campaign.labels_per_item
    not_passed = f" AND i.id NOT IN ({', '.join(['%s'] * len(passed))})" if passed else ""
    mine = [labeller.pk, labeller.pk, *passed]
    if look is Look.FRONT:
        # A subquery with its own LIMIT bounds the rows examined; the outer query takes them in its order (a
        # nested loop on the primary key, no sort), so it stops at the first one that is mine to take.
        sql = f"""
            FROM {ITEM} i JOIN (
                SELECT q.id, q.label_count, q.priority, q.order_key FROM {ITEM} q
                WHERE q.campaign_id = %s AND q.is_gold = %s AND {_open_sql("q")} AND {_room_sql("q")}
                ORDER BY q.label_count DESC, q.priority DESC, q.order_key LIMIT %s
            ) front ON front.id = i.id
            WHERE {_open_sql("i")} AND {_not_mine_sql()}{not_passed}
            ORDER BY front.label_count DESC, front.priority DESC, front.order_key
        """
        return sql, [campaign.pk, False, k, _db_time(now), k, FRONT_LOOK, k, *mine]
    # Untouched: the index's condition, for the database to use it, and no label (an equality on the index).
    labels = (
        "i.label_count < i.labels_wanted AND i.label_count = 0" if look is Look.UNTOUCHED else _open_sql("i")
    )
    sql = f"""
        FROM {ITEM} i
        WHERE i.campaign_id = %s AND i.is_gold = %s AND {labels} AND {_room_sql("i")}
            AND {_not_mine_sql()}{not_passed}
        ORDER BY i.label_count DESC, i.priority DESC, i.order_key
    """
    below_k = [] if look is Look.UNTOUCHED else [k]
    return sql, [campaign.pk, False, *below_k, _db_time(now), k, *mine]


def _open_items_locked(campaign: Campaign, labeller: User, now: datetime, passed: list[int]) -> list[Item]:
    """The first few open items that no one else has locked, locked for me: from the first look that
    has any (Look). Every item is looked at only when no untouched item is left to me."""
    for look in Look:
        sql, params = _open_items_sql(campaign, labeller, now, passed, look)
        items = _items(
            f"SELECT {ITEM_COLUMNS} {sql} LIMIT %s{_for_update('i', skip_locked=True)}",
            [*params, CANDIDATES],
        )
        if items:
            return items
    return []


def _open_item_exists(campaign: Campaign, labeller: User, now: datetime, passed: list[int]) -> bool:
    """Whether an open item exists at all, locked by others or not."""
    sql, params = _open_items_sql(campaign, labeller, now, passed, Look.EVERY)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 {sql} LIMIT 1", params)
        return cursor.fetchone() is not None


def _lease_insert(
    item: Item, labeller: User, campaign: Campaign, now: datetime, *, room_left: int | None
) -> bool:
    """Lease the item to me; with `room_left`, only if fewer live leases than that are counted now.

    The count is a new statement, run with the item's row lock held: it sees every lease committed before
    it, where the statement that found the item may have seen an older state (PostgreSQL re-checks only
    the locked row, not its subqueries). Labels need no recount: label_count changes only under that lock.
    An expired lease of mine on the item is renewed in place (one lease per item and labeller).
    """
    values = [item.pk, labeller.pk, _db_time(now), _db_time(_expires_at(campaign, now))]
    if room_left is None:
        source = "VALUES (%s, %s, %s, %s)"
    else:
        source = f"SELECT %s, %s, %s, %s WHERE (SELECT COUNT(*) FROM {LEASE} WHERE item_id = %s AND expires_at > %s) < %s"
        values += [item.pk, _db_time(now), room_left]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {LEASE} (item_id, labeller_id, created_at, expires_at) {source}
            ON CONFLICT (item_id, labeller_id)
            DO UPDATE SET created_at = excluded.created_at, expires_at = excluded.expires_at
            """,
            values,
        )
        return cursor.rowcount == 1


def _lease_open_item(campaign: Campaign, labeller: User, now: datetime) -> Item | None:
    """Lease the first open item; None only when no item has room for me, locked or not.

    A locked item may have been taken by the time its lock is mine: it is passed over and the next one
    tried. When every open item is locked by labellers being served right now, wait for them briefly,
    and if they are still at it after LOOKS looks, answer "busy" instead of a false "nothing left".
    """
    passed: list[int] = []
    for _ in range(LOOKS):
        candidates = _open_items_locked(campaign, labeller, now, passed)
        for item in candidates:
            item.campaign = campaign
            if _lease_insert(
                item, labeller, campaign, now, room_left=labels_cap(item=item) - item.label_count
            ):
                return item
            passed.append(item.pk)
        if not candidates:
            if not _open_item_exists(campaign, labeller, now, passed):
                return None
            time.sleep(LOCKED_PAUSE_SECONDS)
    raise BusyError(
        f"Campaign '{campaign.name}' is busy: the items left are being handed to others. Ask again.",
        {"retry_after": 1},
    )


@transaction.atomic
def lease_next(*, labeller: User, campaign: Campaign) -> Item | None:
    """Resume my live lease in this campaign, else lease a new item; None when nothing is left for me.

    Raises RefusedError, saying why, when the campaign is paused or the labeller may not label it, and
    BusyError when the items left stay locked by others being served (rare: ask again).
    """
    return lease_next_in_transaction(labeller=labeller, campaign=campaign)


def lease_next_in_transaction(*, labeller: User, campaign: Campaign) -> Item | None:
    """lease_next in the caller's transaction (label_submit: one commit per label).

    Its RefusedError and BusyError come before it writes anything, so the caller may catch them and
    still commit its own work.
    """
    if campaign.status != CampaignStatus.ACTIVE:
        raise RefusedError(f"Campaign '{campaign.name}' is {campaign.get_status_display().lower()}.")
    refusal = labeller_refusal(labeller=labeller, campaign=campaign)
    if refusal:
        raise RefusedError(refusal)
    now = timezone.now()
    item = _own_live_lease(campaign, labeller, now)
    if item is None:
        item = _gold_item(campaign, labeller)
        if item is not None:
            _lease_insert(item, labeller, campaign, now, room_left=None)
        else:
            item = _lease_open_item(campaign, labeller, now)
    if item is not None:
        item.campaign = campaign
    return item


def lease_has_room(*, lease: Lease, now: datetime) -> bool:
    """Whether the lease's item has room for it: labels and the other live leases under what the item asks
    for (gold items have no cap). Run it with the item's row lock held, as lease_next counts, so no lease
    or label slips in."""
    item = lease.item
    if item.is_gold:
        return True
    others = Lease.objects.filter(item_id=item.pk, expires_at__gt=now).exclude(pk=lease.pk).count()
    return item.label_count + others < labels_cap(item=item)


@transaction.atomic
def lease_renew(*, labeller: User, campaign: str | None, item_id: int) -> Lease:
    """Keep my lease alive while the page is open (the page's heartbeat calls this).

    A lease that expired is renewed only if the item still has room for it, as a new lease would be:
    a page that wakes after others filled the item must not bring it past k labels.
    """
    lease = leased_item_get_for_labeller(
        labeller=labeller, item_id=item_id, campaign=campaign, for_update=True
    ).lease
    now = timezone.now()
    if lease.expires_at <= now and not lease_has_room(lease=lease, now=now):
        raise RefusedError(
            f"Your time on item {item_id} ran out and others have taken it: it is no longer leased to you."
        )
    lease.expires_at = _expires_at(lease.item.campaign, now)
    lease.save(update_fields=["expires_at"])
    return lease


@transaction.atomic
def item_skip(*, labeller: User, campaign: str | None, item_id: int, reason: str = "") -> Skip:
    """Pass on an item: it returns to the pool for others and never comes back to me."""
    lease = leased_item_get_for_labeller(
        labeller=labeller, item_id=item_id, campaign=campaign, for_update=True
    ).lease
    text_check(reason, field="reason")
    skip = Skip(item=lease.item, labeller=labeller, reason=reason.strip()[:500])
    skip.full_clean(exclude=["item", "labeller"])
    skip.save()
    lease.delete()
    return skip


@transaction.atomic
def leases_release(*, labeller: User | None = None, items: QuerySet[Item] | None = None) -> int:
    """An admin hands leased items back to the pool: a labeller's, or the given items'."""
    leases = Lease.objects.all()
    if labeller is not None:
        leases = leases.filter(labeller=labeller)
    if items is not None:
        leases = leases.filter(item__in=items)
    deleted, _ = leases.delete()
    return deleted
