import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import connection

from labelapp.errors import NotFoundError
from labelapp.models import Campaign, Candidate, Item, ItemCandidate, Lease, Prompt
from labelapp.selectors.campaigns import CAMPAIGN_COLUMNS, campaign_open_to
from labelapp.selectors.sql_rows import ModelColumns


def item_shown_indices(item: Item) -> list[int]:
    """Canonical index of the candidate shown at each position."""
    return list(ItemCandidate.objects.filter(item=item).order_by("position").values_list("index", flat=True))


@dataclass(frozen=True)
class ShownCandidate:
    position_name: str
    candidate: Candidate


def item_candidates_shown(*, item: Item, position_names: tuple[str, ...]) -> list[ShownCandidate]:
    """The item's candidates in the order this item shows them, with their position names (A, B, ...)."""
    slots = ItemCandidate.objects.filter(item=item).select_related("candidate").order_by("position")
    return [ShownCandidate(position_names[slot.position], slot.candidate) for slot in slots]


@dataclass(frozen=True)
class ItemText:
    """What a labeller reads: the prompt, and the candidates' texts in shown order."""

    prompt: str
    prompt_messages: list[dict[str, Any]] | None
    reference_answer: str
    candidates: list[tuple[int, str]]  # (position, text), by position


def item_text(*, item: Item) -> ItemText:
    """Prompt and candidate texts in one query (the API answers every label with the next item's text)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT p.text, p.messages, p.reference_answer, ic.position, c.text
            FROM {Prompt._meta.db_table} p
            LEFT JOIN {ItemCandidate._meta.db_table} ic ON ic.item_id = %s
            LEFT JOIN {Candidate._meta.db_table} c ON c.id = ic.candidate_id
            WHERE p.id = %s
            ORDER BY ic.position
            """,
            [item.pk, item.prompt_id],
        )
        rows = cursor.fetchall()
    text, messages, reference_answer, _, _ = rows[0]
    if isinstance(messages, str):  # JSON is text to a raw query
        messages = json.loads(messages)
    return ItemText(
        prompt=text,
        prompt_messages=messages,
        reference_answer=reference_answer,
        candidates=[(position, candidate) for *_, position, candidate in rows if candidate is not None],
    )


@dataclass(frozen=True)
class LeasedItem:
    lease: Lease
    item: Item  # with item.campaign
    shown_indices: list[int]  # as item_shown_indices


def leased_item_get_for_labeller(
    *, labeller: User, item_id: int, campaign: str | None, for_update: bool = False
) -> LeasedItem:
    """The access check of every write on an item (label, skip, heartbeat), made once: the item, if it is
    leased to this labeller, in the campaign named (`campaign`, as the route gives it; None on the API
    routes that name none) and that campaign is open to them; otherwise 404, whether or not it exists.

    Lease, item, campaign and shown order come in one query; `for_update` locks the lease and the item.
    """
    in_campaign = " AND c.name = %s" if campaign is not None else ""
    lock = " FOR UPDATE OF l, i" if for_update and connection.features.has_select_for_update_of else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT {ITEM_COLUMNS}, {_LEASE}, {CAMPAIGN_COLUMNS}, ic.{connection.ops.quote_name("index")}
            FROM {Lease._meta.db_table} l
            JOIN {Item._meta.db_table} i ON i.id = l.item_id
            JOIN {Campaign._meta.db_table} c ON c.id = i.campaign_id
            LEFT JOIN {ItemCandidate._meta.db_table} ic ON ic.item_id = i.id
            WHERE l.item_id = %s AND l.labeller_id = %s{in_campaign}
            ORDER BY ic.position{lock}
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
    return LeasedItem(lease=lease, item=item, shown_indices=[r[-1] for r in rows if r[-1] is not None])


ITEM_COLUMNS = ModelColumns(Item, "i")
_LEASE = ModelColumns(Lease, "l", ["id", "item", "labeller", "created_at", "expires_at"])
