"""Adaptive overlap: how many human labels an item asks for (`Item.labels_wanted`), decided again after
each of its labels.

A campaign's labels_per_item (k) is the most an item gets. Without min_labels every item asks for k
(fixed overlap). With min_labels an item first asks for min_labels; from then on it stops as soon as at
least agreement_to_stop of its labels agree with the majority (the kind's own aggregate), and otherwise
asks for one more, up to k.

With judge_prelabel, an item the AI judge has a verdict on (selectors/judgements.judge_prelabel_value)
asks for one human label. The verdict counts as one more vote in the agreement, never as a label: the
item stops when its humans agree with the judge, and asks for more, up to k, when they do not.

Gold items are outside all this: every labeller may label each of them once.
"""

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from labelapp.kinds import kind_get
from labelapp.models import Campaign, Item, Label
from labelapp.selectors.judgements import judge_prelabel_value


def labels_cap(*, item: Item) -> int:
    """The labels the queue gives the item: what it asks for, never more than its campaign's k."""
    return min(item.labels_wanted, item.campaign.labels_per_item)


def item_settled(*, item: Item) -> bool:
    """Whether the item gets no more labels (gold items always take more)."""
    return not item.is_gold and item.label_count >= labels_cap(item=item)


def labels_wanted_at_start(*, campaign: Campaign) -> int:
    """What a new item asks for: min_labels, or k under fixed overlap."""
    return campaign.min_labels or campaign.labels_per_item


def _adaptive(campaign: Campaign) -> bool:
    return campaign.min_labels is not None or campaign.judge_prelabel


def labels_wanted_after(
    *, campaign: Campaign, kind: str, values: list[dict[str, Any]], judge_value: dict[str, Any] | None
) -> int:
    """The rule: what an item with these human labels (canonical values) asks for now."""
    k = campaign.labels_per_item
    votes = values if judge_value is None else [*values, judge_value]
    least = 1 if judge_value is not None else labels_wanted_at_start(campaign=campaign)
    agreed = kind_get(kind).aggregate(votes).agreement >= campaign.agreement_to_stop
    if len(values) >= least and agreed:
        return min(len(values), k)
    return min(max(len(values) + 1, least), k)


def item_labels_wanted_decide(*, item: Item) -> None:
    """In the transaction of a label just written on the item, whose row lock the caller holds (so
    concurrent labels decide one after the other): what the item asks for now, with its labels so far."""
    campaign = item.campaign
    if item.is_gold or not _adaptive(campaign):
        return
    values = list(Label.objects.filter(item_id=item.pk).order_by("pk").values_list("value", flat=True))
    judge_value = judge_prelabel_value(item=item) if campaign.judge_prelabel else None
    wanted = labels_wanted_after(campaign=campaign, kind=item.kind, values=values, judge_value=judge_value)
    if wanted != item.labels_wanted:
        Item.objects.filter(pk=item.pk).update(labels_wanted=wanted)
        item.labels_wanted = wanted


def items_judged_want_one_label(*, campaign: Campaign, items: Iterable[Item]) -> int:
    """After a judge's verdicts on `items`: in a judge_prelabel campaign, those the judge pre-labels that
    have no human label yet ask for one. An item labelled meanwhile keeps its own decision (the UPDATE
    waits for its row lock and checks again). Returns how many now ask for one."""
    if not campaign.judge_prelabel:
        return 0
    prelabelled = [
        item.pk for item in items if not item.is_gold and judge_prelabel_value(item=item) is not None
    ]
    return Item.objects.filter(pk__in=prelabelled, label_count=0).update(labels_wanted=1)


def items_unlabelled_restart(*, campaign: Campaign) -> None:
    """After the campaign's overlap settings changed: its items without a label ask for what a new item
    would (items with labels are decided again at their next label)."""
    untouched: QuerySet[Item] = Item.objects.filter(campaign=campaign, is_gold=False, label_count=0)
    untouched.update(labels_wanted=labels_wanted_at_start(campaign=campaign))
    items_judged_want_one_label(
        campaign=campaign, items=untouched.filter(judge_labels__value__isnull=False).distinct()
    )
