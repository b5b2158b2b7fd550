"""The records every exporter reads: one iterator per task kind, built on one chunked read of items.

`item_facts` reads a campaign's items in chunks of CHUNK_SIZE by ascending id (keyset pagination), and
for each chunk the candidates and the labels of that id range, with one query each. Only one chunk is
held at a time, so memory stays flat however large the campaign is, and no query stays open between
chunks. No model instance is built. A kind's records iterator aggregates each item's labels by the
kind's rule and applies the thresholds; adding a kind is one more iterator in `RECORDS`.
"""

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple

from django.db import connections
from django.db.models import F, Func, QuerySet, TextField
from django.db.models.functions import Cast

import inference
from labelapp.kinds import pairwise
from labelapp.models import Campaign, Generator, Item, ItemCandidate, Label

CHUNK_SIZE = 5000
PARAM_NAMES = tuple(f.name for f in fields(inference.SamplingParams))


@dataclass(frozen=True)
class Selection:
    """Which labels and items count, resolved to ids (the service turns usernames and thresholds into these)."""

    min_labels: int = 1
    min_agreement: float = 0.0
    excluded_labeller_ids: frozenset[int] = frozenset()
    since: datetime | None = None
    generators: frozenset[str] = frozenset()  # empty: any; else every candidate's generator must be listed


# Tuples rather than dataclasses: a million of each are made per export, and a tuple is the cheapest.
class PromptFacts(NamedTuple):
    id: int
    text: str
    messages: list[dict[str, str]] | None
    key: str  # hash of the content: prompts with equal content fall in the same split

    @property
    def content(self) -> str | list[dict[str, str]]:
        return self.messages if self.messages is not None else self.text


class CandidateFacts(NamedTuple):
    id: int
    text: str
    generator: str
    params: dict[str, Any]  # every sampling parameter name, None where unknown


class LabelFacts(NamedTuple):
    id: int
    labeller_id: int
    value: dict[str, Any]  # canonical order
    seconds_spent: float
    given_at: datetime | str  # as fetched: read `created_at`

    @property
    def created_at(self) -> datetime:
        return _moment(self.given_at)


class ItemFacts(NamedTuple):
    id: int
    kind: str
    built_at: datetime | str  # as fetched: read `created_at`
    prompt: PromptFacts
    candidates: tuple[CandidateFacts, ...]  # canonical order: index 0 is "a"
    labels: tuple[LabelFacts, ...]

    @property
    def created_at(self) -> datetime:
        return _moment(self.built_at)


class Record(NamedTuple):
    """An item with its labels aggregated by its kind's rule."""

    campaign: str
    item: ItemFacts
    aggregate: Any  # the kind's aggregate, e.g. pairwise.PairwiseAggregate
    outcome: str  # what the labels concluded, in a word, for the dataset card ("a", "tie", "split"...)
    agreement: float  # fraction of labels agreeing with the aggregate


def prompt_key(text: str, messages: list[dict[str, str]] | None) -> str:
    content = json.dumps(messages, sort_keys=True, ensure_ascii=False) if messages is not None else text
    return hashlib.sha256(content.encode()).hexdigest()[:32]


def params_complete(params: dict[str, Any] | None) -> dict[str, Any]:
    """Every sampling parameter name, so each row has the same shape (a Parquet column is one type)."""
    params = params or {}
    return {name: params.get(name) for name in PARAM_NAMES}


class _Decoded:
    """JSON texts decoded once each: a job's candidates share their params, most labels repeat a value.

    The decoded objects are shared between records, so nothing downstream may change them.
    """

    def __init__(self, shape: Callable[[Any], Any] = lambda value: value, limit: int = 50_000) -> None:
        self._shape, self._limit = shape, limit
        self._decoded: dict[str | None, Any] = {}

    def __call__(self, text: str | None) -> Any:
        decoded = self._decoded.get(text)
        if decoded is None:
            if len(self._decoded) >= self._limit:
                self._decoded.clear()
            decoded = self._decoded[text] = self._shape(json.loads(text) if text is not None else None)
        return decoded


class _UtcText(Func):
    """A timestamp as ISO text in UTC, whatever the session's DateStyle (PostgreSQL)."""

    template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    output_field = TextField()


def _timestamp(field: str, vendor: str) -> Any:
    """A timestamp column as text, parsed only when read (`_moment`): few formats use timestamps, and
    the drivers' conversions (Django's, in Python) cost more than any other column."""
    if vendor == "postgresql":
        return _UtcText(field)
    if vendor == "sqlite":  # stored as ISO text in UTC already
        return Cast(field, TextField())
    return F(field)


def _moment(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _fetched(queryset: QuerySet) -> list[tuple]:
    """A values_list queryset's rows as the database driver returns them.

    Django's per-value converters (JSON decoding, timestamps on PostgreSQL) would cost more than the
    rest of an export together; JSON is selected as text and decoded here once per distinct value.
    """
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _item_chunks(campaign: Campaign, kind: str) -> Iterator[list[tuple]]:
    items = (
        Item.objects.filter(campaign=campaign, kind=kind, is_gold=False)
        .annotate(
            messages_json=Cast("prompt__messages", TextField()),
            built_at=_timestamp("created_at", connections[Item.objects.db].vendor),
        )
        .order_by("id")
        .values_list("id", "built_at", "prompt_id", "prompt__text", "messages_json")
    )
    after = 0
    while chunk := _fetched(items.filter(id__gt=after)[:CHUNK_SIZE]):
        yield chunk
        after = chunk[-1][0]


def _by_item(rows: list[tuple]) -> dict[int, list[tuple]]:
    return {item_id: list(group) for item_id, group in groupby(rows, itemgetter(0))}


# The candidates and labels of an id range are read without joining items: rows of other campaigns' or gold
# items in the range are fetched and ignored, while a join made PostgreSQL scan whole tables per chunk.
def _slots_of(first: int, last: int) -> dict[int, list[tuple]]:
    return _by_item(
        _fetched(
            ItemCandidate.objects.filter(item_id__gte=first, item_id__lte=last)
            .annotate(params_json=Cast("candidate__params", TextField()))
            .order_by("item_id", "index")
            .values_list(
                "item_id", "candidate_id", "candidate__text", "candidate__generator_id", "params_json"
            )
        )
    )


def _labels_of(first: int, last: int, selection: Selection) -> dict[int, list[tuple]]:
    labels = Label.objects.filter(item_id__gte=first, item_id__lte=last)
    if selection.excluded_labeller_ids:
        labels = labels.exclude(labeller_id__in=selection.excluded_labeller_ids)
    if selection.since is not None:
        labels = labels.filter(created_at__gte=selection.since)
    return _by_item(
        _fetched(
            labels.annotate(
                value_json=Cast("value", TextField()),
                given_at=_timestamp("created_at", connections[labels.db].vendor),
            )
            .order_by("item_id", "id")
            .values_list("item_id", "id", "labeller_id", "value_json", "seconds_spent", "given_at")
        )
    )


def item_facts(*, campaign: Campaign, kind: str, selection: Selection) -> Iterator[ItemFacts]:
    """Every non-gold item of this kind with its candidates and the labels the selection keeps, by item id."""
    params_of, value_of = _Decoded(params_complete, limit=10_000), _Decoded()
    generator_names = dict(Generator.objects.values_list("pk", "name"))  # a few: cheaper than a join per row
    prompt = PromptFacts(0, "", None, "")
    no_rows: list[tuple] = []
    for chunk in _item_chunks(campaign, kind):
        first, last = chunk[0][0], chunk[-1][0]
        labels_by_item = _labels_of(first, last, selection)
        slots_by_item = _slots_of(first, last)
        for item_id, built_at, prompt_id, text, messages in chunk:
            label_rows = labels_by_item.get(item_id, no_rows)
            if len(label_rows) < selection.min_labels:
                continue
            candidates = tuple(
                [
                    CandidateFacts(r[1], r[2], generator_names[r[3]], params_of(r[4]))
                    for r in slots_by_item.get(item_id, no_rows)
                ]
            )
            if selection.generators and any(c.generator not in selection.generators for c in candidates):
                continue
            if prompt.id != prompt_id:  # items of one prompt are usually built together
                decoded = json.loads(messages) if messages is not None else None
                prompt = PromptFacts(prompt_id, text, decoded, prompt_key(text, decoded))
            labels = tuple([LabelFacts(r[1], r[2], value_of(r[3]), r[4], r[5]) for r in label_rows])
            yield ItemFacts(item_id, kind, built_at, prompt, candidates, labels)


def _vote(value: dict[str, Any]) -> tuple:
    criteria = value.get("criteria")
    return (value["choice"], value.get("strength"), tuple(criteria.items()) if criteria else None)


def pairwise_records(*, campaign: Campaign, selection: Selection) -> Iterator[Record]:
    """Pairwise items aggregated by majority; the outcome is the majority choice, or "split" on a tie vote."""
    # The aggregate reads only choices, strengths and criteria, and few combinations occur: compute each once.
    aggregates: dict[tuple, pairwise.PairwiseAggregate] = {}
    for item in item_facts(campaign=campaign, kind=pairwise.NAME, selection=selection):
        votes = tuple([_vote(label.value) for label in item.labels])
        aggregate = aggregates.get(votes)
        if aggregate is None:
            if len(aggregates) >= 10_000:
                aggregates.clear()
            aggregate = aggregates[votes] = pairwise.aggregate([label.value for label in item.labels])
        if aggregate.agreement < selection.min_agreement:
            continue
        yield Record(campaign.name, item, aggregate, aggregate.choice or "split", aggregate.agreement)


RecordsIterator = Callable[..., Iterator[Record]]
RECORDS: dict[str, RecordsIterator] = {pairwise.NAME: pairwise_records}
