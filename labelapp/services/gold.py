"""Gold items: items with a known answer, served like any other, scored automatically, never exported.

Admins mark items gold from their labels' consensus (admin action) or import known answers from a file.
"""

import json
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from labelapp.errors import ApplicationError
from labelapp.kinds import item_shape, kind_get
from labelapp.models import Campaign, Item
from labelapp.user_text import TOO_DEEP, json_problem


@transaction.atomic
def items_mark_gold(*, items: QuerySet[Item]) -> tuple[int, list[int]]:
    """Make items gold with their labels' consensus as the known answer.

    Returns (marked, item ids left alone because their labels have no clear consensus).
    """
    marked, unclear = 0, []
    for item in items.prefetch_related("labels"):
        task_kind = kind_get(item.kind)
        consensus = task_kind.aggregate([label.value for label in item.labels.all()])
        gold_value = task_kind.gold_value_from(consensus)
        if gold_value is None:
            unclear.append(item.pk)
            continue
        item.is_gold, item.gold_value = True, gold_value
        item.save(update_fields=["is_gold", "gold_value"])
        marked += 1
    return marked, unclear


def gold_value_check(*, item: Item, value: Any) -> dict[str, Any]:
    """A known answer written in canonical order (as exports show it), checked by the item's kind."""
    task_kind = kind_get(item.kind)
    shape = item_shape(campaign=item.campaign, candidate_count=item.slots.count())
    cleaned = task_kind.label_validate(value, shape=shape)
    return task_kind.label_to_canonical(cleaned, list(range(shape.candidate_count)))


@transaction.atomic
def item_set_gold(*, item: Item, value: Any) -> Item:
    """Make one item gold with a known answer given in canonical order."""
    item.is_gold, item.gold_value = True, gold_value_check(item=item, value=value)
    item.save(update_fields=["is_gold", "gold_value"])
    return item


def _gold_row(campaign: Campaign, record: Any, where: str) -> tuple[Item, dict[str, Any]]:
    if not isinstance(record, dict) or set(record) != {"item", "value"}:
        raise ApplicationError(f"{where}: each line must be an object with exactly 'item' and 'value'.")
    item = campaign.items.select_related("campaign").filter(pk=record["item"]).first()
    if item is None:
        raise ApplicationError(
            f"{where}, field 'item': campaign '{campaign.name}' has no item {record['item']!r}.",
            {"field": "item"},
        )
    try:
        return item, gold_value_check(item=item, value=record["value"])
    except ApplicationError as exc:
        raise ApplicationError(f"{where}, field 'value': {exc.message}", exc.extra) from None


@transaction.atomic
def gold_import(*, campaign: Campaign, file_name: str, content: bytes) -> int:
    """Known answers from JSONL lines {"item": id, "value": {...}}; all or nothing, errors name the line."""
    rows = []
    for number, raw in enumerate(content.splitlines(), start=1):
        where = f"{file_name}, line {number}"
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise ApplicationError(
                f"{where}: not UTF-8 text (byte {exc.start} of the line).", {"line": number}
            ) from None
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ApplicationError(f"{where}: not valid JSON ({exc.msg}).", {"line": number}) from None
        except RecursionError:
            raise ApplicationError(f"{where}: the line {TOO_DEEP}.", {"line": number}) from None
        problem = json_problem(record)
        if problem is not None:
            raise ApplicationError(
                f"{where}, field '{problem.field}': {problem.reason}.",
                {"line": number, "field": problem.field},
            )
        rows.append(_gold_row(campaign, record, where))
    if not rows:
        raise ApplicationError(f"{file_name}: no gold answers in the file.")
    for item, value in rows:
        item.is_gold, item.gold_value = True, value
        item.save(update_fields=["is_gold", "gold_value"])
    return len(rows)


@transaction.atomic
def items_unmark_gold(*, items: QuerySet[Item]) -> int:
    return items.update(is_gold=False, gold_value=None)
