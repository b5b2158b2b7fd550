"""Active selection: which generator pair a pairwise campaign's queue serves next (Campaign.selection).

The request path never fits a model. A label of an active campaign queues `selection_weights_refresh`
(after commit, on a worker) when the weights are older than REFRESH_SECONDS, on about one label in
REFRESH_LABELS so a busy campaign queues one task, not one per labeller; the refresh itself does nothing
when another has just run. It fits Bradley–Terry on the campaign's votes per generator pair (one GROUP BY)
and stores each open pair's weight (reports.pair_selection) on the campaign. `lease_next` then samples a
pair by those weights (`selection_pair_sample`) and looks for that pair's items first, in the queue's own
order, falling back to the whole queue when the pair has nothing left for the labeller.

Within a pair the queue's order holds: partly labelled items first, so an item whose outcome is still open
gets its next vote before an untouched one (with adaptive overlap, the partly labelled items still asking
for labels are exactly those whose labels split).
"""

import contextlib
import random
from datetime import timedelta

import numpy as np
from celery import current_app
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Least
from django.utils import timezone
from kombu.exceptions import OperationalError

from labelapp.models import Campaign, CampaignSelection, Candidate, Item, ItemCandidate, Label
from labelapp.reports.pair_selection import pair_weights

REFRESH_SECONDS = 20
REFRESH_LABELS = 20
REFRESH_TASK = "labelapp.tasks.selection_weights_refresh_task"
WINS = {"a": (1.0, 0.0), "b": (0.0, 1.0)}  # a label's choice -> (wins of a, wins of b); others half each


def selection_refresh_due(*, item: Item) -> None:
    """In the transaction of a label on `item`: queue a refresh of its campaign's pair weights when they
    are stale (never fitted, or older than REFRESH_SECONDS), on about one such label in REFRESH_LABELS."""
    campaign = item.campaign
    if campaign.selection != CampaignSelection.ACTIVE or item.is_gold:
        return
    fitted = campaign.pair_weights_at
    if fitted is not None and timezone.now() - fitted < timedelta(seconds=REFRESH_SECONDS):
        return
    if fitted is not None and random.random() >= 1 / REFRESH_LABELS:
        return
    campaign_id = campaign.pk
    transaction.on_commit(lambda: _refresh_send(campaign_id))


def _refresh_send(campaign_id: int) -> None:
    """A lost refresh only leaves the weights older: the next stale label queues another."""
    with contextlib.suppress(OperationalError):
        current_app.tasks[REFRESH_TASK].apply_async((campaign_id,), retry=False)


@transaction.atomic
def selection_weights_refresh(*, campaign_id: int, force: bool = False) -> Campaign:
    """Fit the campaign's generator ranking on its votes and store how often the queue serves each open pair
    next. Without `force`, does nothing when the weights were refitted less than REFRESH_SECONDS ago (a
    doubled or late task)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    now = timezone.now()
    fitted = campaign.pair_weights_at
    if not force and fitted is not None and now - fitted < timedelta(seconds=REFRESH_SECONDS):
        return campaign
    _pair_keys_set(campaign)
    campaign.pair_weights = _open_pair_weights(campaign)
    campaign.pair_weights_at = now
    campaign.save(update_fields=["pair_weights", "pair_weights_at"])
    return campaign


def selection_pair_sample(*, campaign: Campaign) -> str | None:
    """The generator pair (Item.pair_key) whose items the queue looks at first; None for uniform selection
    or before the first refresh."""
    if campaign.selection != CampaignSelection.ACTIVE or not campaign.pair_weights:
        return None
    keys = list(campaign.pair_weights)
    return random.choices(keys, weights=[campaign.pair_weights[key] for key in keys])[0]


def _pair_keys_set(campaign: Campaign) -> None:
    """Give the campaign's pairwise items without one their pair key ("3-7": generator ids, smaller first),
    whichever way they were made (built, imported, continued)."""
    item, slot, candidate = (model._meta.db_table for model in (Item, ItemCandidate, Candidate))
    generator = "CAST({}(c.generator_id) AS VARCHAR(16))"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {item} SET pair_key = (
                SELECT {generator.format("MIN")} || '-' || {generator.format("MAX")}
                FROM {slot} s JOIN {candidate} c ON c.id = s.candidate_id WHERE s.item_id = {item}.id
            )
            WHERE campaign_id = %s AND kind = 'pairwise' AND is_gold = %s AND pair_key = ''
            """,
            [campaign.pk, False],
        )


def _open_pair_weights(campaign: Campaign) -> dict[str, float]:
    """Weights of the pairs of different generators that still have items wanting labels."""
    open_keys = (
        Item.objects.filter(
            campaign=campaign,
            is_gold=False,
            label_count__lt=Least(F("labels_wanted"), campaign.labels_per_item),
        )
        .exclude(pair_key="")
        .order_by()
        .values_list("pair_key", flat=True)
        .distinct()
    )
    pairs = [key for key in open_keys if len(set(key.split("-"))) == 2]
    if not pairs:
        return {}
    players = sorted({int(generator) for key in pairs for generator in key.split("-")})
    index = {generator: position for position, generator in enumerate(players)}
    wins = np.zeros((len(players), len(players)))
    for first, second, choice, votes in _votes(campaign):
        if first in index and second in index and first != second:
            won, lost = WINS.get(choice, (0.5, 0.5))
            wins[index[first], index[second]] += won * votes
            wins[index[second], index[first]] += lost * votes
    positions = [tuple(index[int(generator)] for generator in key.split("-")) for key in pairs]
    weights = pair_weights(wins, [(a, b) for a, b in positions])
    return {key: round(float(weight), 6) for key, weight in zip(pairs, weights, strict=True)}


def _votes(campaign: Campaign) -> list[tuple[int, int, str, int]]:
    """(generator of candidate a, of candidate b, choice, labels): the campaign's human votes, grouped."""

    def generator_at(index: int) -> Subquery:
        slots = ItemCandidate.objects.filter(item=OuterRef("item_id"), index=index)
        return Subquery(slots.values("candidate__generator_id")[:1])

    rows = (
        Label.objects.filter(item__campaign=campaign, item__is_gold=False)
        .annotate(first=generator_at(0), second=generator_at(1), choice=KT("value__choice"))
        .values("first", "second", "choice")
        .annotate(votes=Count("id"))
        .values_list("first", "second", "choice", "votes")
    )
    return list(rows)
