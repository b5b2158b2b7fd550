import json
import random
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import connection

from labelapp.errors import NotFoundError
from labelapp.kinds import kind_get
from labelapp.models import Campaign, Candidate, Item, ItemCandidate, Lease, Prompt
from labelapp.selectors.campaigns import CAMPAIGN_COLUMNS, campaign_open_to
from labelapp.selectors.sql_rows import ModelColumns


@dataclass(frozen=True)
class ShownOrder:
    """Where one labeller sees an item's candidates: `positions[index]` is the shown position of canonical
    index `index` (set-vs-set's positions leave gaps: 0.. left, 5.. right)."""

    positions: tuple[int, ...]

    @property
    def indices(self) -> list[int]:
        """The canonical index shown at each position, in shown order (what Label.shown_order stores and
        the kinds' label_to_canonical reads)."""
        return sorted(range(len(self.positions)), key=self.positions.__getitem__)


def shown_order_for_labeller(
    *, item_id: int, kind: str, candidate_count: int, labeller_id: int
) -> ShownOrder:
    """The one place positions are drawn for a labeller: random per (item, labeller), as the item's kind
    shuffles them, so two labellers of an item see it in independent orders and a position bias averages
    out. Drawn from a seed, not stored, so a page reload, the API's item and the label submit agree without
    a query; the label keeps the order it was given in (Label.shown_order)."""
    rng = random.Random(f"{item_id}:{labeller_id}")
    return ShownOrder(tuple(kind_get(kind).shuffled_positions(candidate_count, rng)))


def item_shown_order(*, item: Item, labeller: User) -> ShownOrder:
    """shown_order_for_labeller where the item's candidates are not counted yet (one query)."""
    count = ItemCandidate.objects.filter(item=item).count()
    return shown_order_for_labeller(
        item_id=item.pk, kind=item.kind, candidate_count=count, labeller_id=labeller.pk
    )


@dataclass(frozen=True)
class ShownCandidate:
    position_name: str
    candidate: Candidate


def item_candidates_shown(*, item: Item, labeller: User) -> list[ShownCandidate]:
    """The item's candidates in the order this labeller sees them, with their position names (A, B, ...)."""
    slots = list(ItemCandidate.objects.filter(item=item).select_related("candidate").order_by("index"))
    order = shown_order_for_labeller(
        item_id=item.pk, kind=item.kind, candidate_count=len(slots), labeller_id=labeller.pk
    )
    names = kind_get(item.kind).POSITION_NAMES
    return [ShownCandidate(names[order.positions[index]], slots[index].candidate) for index in order.indices]


@dataclass(frozen=True)
class ItemText:
    """What a labeller reads: the prompt, and the candidates' texts in shown order."""

    prompt: str
    prompt_messages: list[dict[str, Any]] | None
    reference_answer: str
    candidates: list[tuple[int, str]]  # (position, text), by position


def item_text(*, item: Item, labeller: User) -> ItemText:
    """Prompt and candidate texts in one query (the API answers every label with the next item's text), the
    candidates in the order this labeller sees them."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT p.text, p.messages, p.reference_answer, c.text
            FROM {Prompt._meta.db_table} p
            LEFT JOIN {ItemCandidate._meta.db_table} ic ON ic.item_id = %s
            LEFT JOIN {Candidate._meta.db_table} c ON c.id = ic.candidate_id
            WHERE p.id = %s
            ORDER BY ic.{connection.ops.quote_name("index")}
            """,
            [item.pk, item.prompt_id],
        )
        rows = cursor.fetchall()
    text, messages, reference_answer, _ = rows[0]
    if isinstance(messages, str):  # JSON is text to a raw query
        messages = json.loads(messages)
    texts = [candidate for *_, candidate in rows if candidate is not None]  # by canonical index
    order = shown_order_for_labeller(
        item_id=item.pk, kind=item.kind, candidate_count=len(texts), labeller_id=labeller.pk
    )
    return ItemText(
        prompt=text,
        prompt_messages=messages,
        reference_answer=reference_answer,
        candidates=[(order.positions[index], texts[index]) for index in order.indices],
    )


@dataclass(frozen=True)
class LeasedItem:
    lease: Lease
    item: Item  # with item.campaign
    shown_indices: list[int]  # canonical index shown to this labeller at each position (ShownOrder.indices)


def leased_item_get_for_labeller(
    *, labeller: User, item_id: int, campaign: str | None, for_update: bool = False
) -> LeasedItem:
    """The access check of every write on an item (label, skip, heartbeat), made once: the item, if it is
    leased to this labeller, in the campaign named (`campaign`, as the route gives it; None on the API
    routes that name none) and that campaign is open to them; otherwise 404, whether or not it exists.

    Lease, item, campaign and candidate count come in one query; `for_update` locks the lease and the item.
    """
    in_campaign = " AND c.name = %s" if campaign is not None else ""
    lock = " FOR UPDATE OF l, i" if for_update and connection.features.has_select_for_update_of else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT {ITEM_COLUMNS}, {_LEASE}, {CAMPAIGN_COLUMNS}, ic.id
            FROM {Lease._meta.db_table} l
            JOIN {Item._meta.db_table} i ON i.id = l.item_id
            JOIN {Campaign._meta.db_table} c ON c.id = i.campaign_id
            LEFT JOIN {ItemCandidate._meta.db_table} ic ON ic.item_id = i.id
            WHERE l.item_id = %s AND l.labeller_id = %s{in_campaign}
            ORDER BY ic.id{lock}
            """,
            [item_id, labeller.pk, *([campaign] if campaign is not None else [])],
        )
        rows = cursor.fetchall()
    if not rows:
        where = f" in campaign '{campaign}'" if campaign is not None else ""
        raise NotFoundError(f"Item {item_id} is not leased to you{where}.", {"field": "item"})
    item = ITEM_COLUMNS.instance(rows[0])
    item.campaign = CAMPAIGN_COLUMNS.instance(rows[0], ITEM_COLUMNS.width + _LEASE.width)
    if not campaign_open_to(user=labeller, campaign=item.campaign):  # paused, or their skills changed
        raise NotFoundError(
            f"Campaign '{item.campaign.name}' does not exist or is not open to you.", {"field": "campaign"}
        )
    lease = _LEASE.instance(rows[0], ITEM_COLUMNS.width)
    lease.item, lease.labeller = item, labeller
    order = shown_order_for_labeller(
        item_id=item.pk,
        kind=item.kind,
        candidate_count=sum(r[-1] is not None for r in rows),
        labeller_id=labeller.pk,
    )
    return LeasedItem(lease=lease, item=item, shown_indices=order.indices)


ITEM_COLUMNS = ModelColumns(Item, "i")
_LEASE = ModelColumns(Lease, "l", ["id", "item", "labeller", "created_at", "expires_at"])
