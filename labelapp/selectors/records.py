"""The records an export reads: one iterator per task kind, built on one chunked read of items.

`item_facts` reads a campaign's items in chunks of CHUNK_SIZE by ascending id (keyset pagination), and
for each chunk the labels, the candidates and the prompts of that id range, with one query each (two for
candidates: the slots, then each candidate once). Only one chunk is held at a time, so memory stays flat
however large the campaign is, and no query stays open between chunks. No model instance is built. A
kind's records iterator aggregates each item's labels by the kind's rule and applies the thresholds; an
item a reviewer adjudicated (services/reviews.py) takes the reviewer's final label as its aggregate, and
--min-agreement, which measures the labellers' disagreement the reviewer settled, keeps it. Adding a
kind is one more iterator in `RECORDS`. Records are the tuples of `labelapp.exporters.format`.
"""

import datetime
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar

from django.db import connections
from django.db.models import BooleanField, F, FloatField, Func, QuerySet, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

import inference
from labelapp.exporters.format import CandidateFacts, ItemFacts, LabelFacts, PromptFacts, Record
from labelapp.kinds import coherence, correctness, pairwise, ranking, set_vs_set, setwise
from labelapp.models import (
    Adjudication,
    Campaign,
    Candidate,
    Generator,
    Item,
    ItemCandidate,
    JudgeLabel,
    Label,
    Prompt,
    SourceLabel,
)
from labelapp.reports.judge import order_consistent

CHUNK_SIZE = 5000
T = TypeVar("T")
PARAM_NAMES = tuple(f.name for f in fields(inference.SamplingParams))


class ItemRange(NamedTuple):
    """Items by id: after < id <= upto. An export is read in ranges, one per part."""

    after: int = 0
    upto: int | None = None  # None: no end


@dataclass(frozen=True)
class Selection:
    """Which labels and items count, resolved to ids (the plan turns usernames and thresholds into these)."""

    min_labels: int = 1
    min_agreement: float = 0.0
    excluded_labeller_ids: frozenset[int] = frozenset()
    since: datetime.datetime | None = None
    generators: frozenset[str] = frozenset()  # empty: any; else every candidate's generator must be listed
    # Read the imported datasets' own verdicts (SourceLabel) in place of the labellers' labels: each
    # source stands where a labeller would, named "source:<name>".
    source_labels: bool = False
    # Read AI judges' verdicts (JudgeLabel) in place of the labellers' labels: each judge in `judges` stands
    # where a labeller would, named "judge:<generator>", with its verdict in the order labellers see;
    # unless `judge_order_inconsistent`, only where its verdict in the reversed order chose the same.
    judge_labels: bool = False
    judges: frozenset[str] = frozenset()
    judge_order_inconsistent: bool = False
    items: ItemRange = ItemRange()
    # Read each label's time spent and timestamp, and each item's: the raw format's audit trail. Other
    # formats never show them, and on PostgreSQL the timestamps cost more to read than the label values.
    audit_trail: bool = False
    read_ahead: bool = True  # read each next chunk in a second thread (`_read_ahead`) when it can


def prompt_key(text: str, messages: list[dict[str, str]] | None) -> str:
    content = json.dumps(messages, sort_keys=True, ensure_ascii=False) if messages is not None else text
    return hashlib.sha256(content.encode()).hexdigest()[:32]


def params_complete(params: dict[str, Any] | None) -> dict[str, Any]:
    """Every sampling parameter name, so each row has the same shape (a Parquet column is one type)."""
    params = params or {}
    return {name: params.get(name) for name in PARAM_NAMES}


class _Decoded(dict):
    """JSON texts decoded once each (`decoded[text]`): a job's candidates share their params, most labels
    repeat a value. A dict whose misses decode, so a hit costs one C-level lookup and no Python call.

    The decoded objects are shared between records, so nothing downstream may change them.
    """

    def __init__(self, shape: Callable[[Any], Any] = lambda value: value, limit: int = 50_000) -> None:
        super().__init__()
        self._shape, self._limit = shape, limit

    def __missing__(self, text: str | None) -> Any:
        if len(self) >= self._limit:
            self.clear()
        decoded = self[text] = self._shape(json.loads(text) if text is not None else None)
        return decoded


class _UtcText(Func):
    """A timestamp as ISO text in UTC, whatever the session's DateStyle (PostgreSQL)."""

    template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    output_field = TextField()


def _timestamp(field: str, vendor: str, selection: Selection) -> Any:
    """A timestamp column as text, parsed only when read (`LabelFacts.created_at`): few formats use timestamps, and
    the drivers' conversions (Django's, in Python) cost more than any other column. NULL unless the
    selection reads the audit trail."""
    if not selection.audit_trail:
        return Value(None, output_field=TextField())
    if vendor == "postgresql":
        return _UtcText(field)
    if vendor == "sqlite":  # stored as ISO text in UTC already
        return Cast(field, TextField())
    return F(field)


def _fetched(queryset: QuerySet) -> list[tuple]:
    """A values_list queryset's rows as the database driver returns them.

    Django's per-value converters (JSON decoding, timestamps on PostgreSQL) would cost more than the
    rest of an export together; JSON is selected as text and decoded here once per distinct value.
    """
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _exported_items(campaign: Campaign, kind: str) -> QuerySet:
    return Item.objects.filter(campaign=campaign, kind=kind, is_gold=False).order_by("id")


def exported_item_count(*, campaign: Campaign, kind: str) -> int:
    return _exported_items(campaign, kind).count()


def item_ranges(*, campaign: Campaign, kind: str, size: int) -> Iterator[ItemRange]:
    """The campaign's exported items of a kind cut into consecutive ranges of `size` items, found one
    boundary at a time. The last range has no end, so it also holds items added while exporting."""
    ids = _exported_items(campaign, kind).values_list("id", flat=True)
    after = 0
    while (upto := next(iter(ids.filter(id__gt=after)[size - 1 : size]), None)) is not None:
        yield ItemRange(after, upto)
        after = upto
    yield ItemRange(after, None)


def _item_chunks(campaign: Campaign, kind: str, selection: Selection) -> Iterator[list[tuple]]:
    items = selection.items
    in_range = _exported_items(campaign, kind)
    if items.upto is not None:
        in_range = in_range.filter(id__lte=items.upto)
    rows = in_range.annotate(
        built_at=_timestamp("created_at", connections[Item.objects.db].vendor, selection),
    ).values_list("id", "built_at", "prompt_id")
    after = items.after
    while chunk := _fetched(rows.filter(id__gt=after)[:CHUNK_SIZE]):
        yield chunk
        after = chunk[-1][0]


# Facts are made with tuple.__new__: a NamedTuple's own constructor is a Python function, several times
# slower, and an export makes millions of them.
_new = tuple.__new__


# The candidates and labels of an id range are read without joining items: rows of other campaigns' or gold
# items in the range are fetched and ignored, while a join made PostgreSQL scan whole tables per chunk.
def _slots_of(
    first: int, last: int, generator_names: dict[int, str], params_of: "_Decoded"
) -> dict[int, list[CandidateFacts]]:
    """Each item's candidates in canonical order."""
    in_range = ItemCandidate.objects.filter(item_id__gte=first, item_id__lte=last)
    slots = _fetched(in_range.order_by("item_id", "index").values_list("item_id", "candidate_id"))
    candidates = {
        candidate_id: _new(
            CandidateFacts, (candidate_id, text, generator_names[generator_id], params_of[params])
        )
        for candidate_id, text, generator_id, params in _fetched(
            _each_once(
                Candidate.objects.annotate(params_json=Cast("params", TextField())),
                in_range.values("candidate_id"),
                lambda: {candidate_id for _, candidate_id in slots},
            ).values_list("id", "text", "generator_id", "params_json")
        )
    }
    by_item: defaultdict[int, list] = defaultdict(list)
    for item_id, candidate_id in slots:
        by_item[item_id].append(candidates[candidate_id])
    return by_item


def _prompts_of(first: int, last: int, chunk: list[tuple]) -> dict[int, PromptFacts]:
    """The prompts of a chunk's items, each read once however many items ask it."""
    shown = Item.objects.filter(id__gte=first, id__lte=last).values("prompt_id")
    rows = _fetched(
        _each_once(
            Prompt.objects.annotate(messages_json=Cast("messages", TextField())),
            shown,
            lambda: {prompt_id for _, _, prompt_id in chunk},
        ).values_list("id", "text", "messages_json", "conversation_start_id", "turn")
    )
    prompts = {}
    for prompt_id, text, messages, conversation_start_id, turn in rows:
        decoded = json.loads(messages) if messages is not None else None
        prompts[prompt_id] = PromptFacts(
            prompt_id, text, decoded, prompt_key(text, decoded), conversation_start_id or prompt_id, turn
        )
    return prompts


def _each_once(rows: QuerySet, shown: QuerySet, ids: Callable[[], set[int]]) -> QuerySet:
    """`rows` whose id is among the ids `shown` selects (a subquery of one id column), each row once.

    Filtered by that subquery, or joined to it, PostgreSQL hashed the whole candidate table for every
    chunk; given the ids as one array it reads them by primary key. The array goes as one text literal:
    psycopg adapts a list of ints one by one, which cost more than the query. SQLite plans the subquery
    well.
    """
    if connections[rows.db].vendor != "postgresql":
        return rows.filter(id__in=shown)
    table = rows.model._meta.db_table
    literal = "{" + ",".join(map(str, ids())) + "}"
    return rows.filter(RawSQL(f'"{table}"."id" = ANY(%s::bigint[])', (literal,), output_field=BooleanField()))


def _source_labels_of(
    first: int, last: int, selection: Selection, value_of: "_Decoded"
) -> dict[int, list[LabelFacts]]:
    """Each item's source labels, by id, each standing as a label by "source:<name>"."""
    labels = SourceLabel.objects.filter(item_id__gte=first, item_id__lte=last)
    rows = _fetched(
        labels.annotate(
            value_json=Cast("value", TextField()),
            given_at=_timestamp("created_at", connections[labels.db].vendor, selection),
        )
        .order_by("item_id", "id")
        .values_list("item_id", "id", "source", "value_json", "given_at")
    )
    by_item: defaultdict[int, list] = defaultdict(list)
    for item_id, label_id, source, value, given_at in rows:
        by_item[item_id].append(
            _new(LabelFacts, (label_id, f"source:{source}", value_of[value], None, given_at))
        )
    return by_item


def _judge_labels_of(
    first: int, last: int, selection: Selection, value_of: "_Decoded"
) -> dict[int, list[LabelFacts]]:
    """Each item's parsed verdicts by the selected judges, in the order labellers see, each standing as a
    label by "judge:<name>"; without `judge_order_inconsistent`, only those repeated in the reversed order."""
    labels = JudgeLabel.objects.filter(
        item_id__gte=first, item_id__lte=last, generator__name__in=selection.judges, value__isnull=False
    )
    rows = _fetched(
        labels.annotate(
            value_json=Cast("value", TextField()),
            given_at=_timestamp("created_at", connections[labels.db].vendor, selection),
        )
        .order_by("item_id", "id")
        .values_list(
            "item_id", "id", "generator__name", "item__kind", "order_reversed", "value_json", "given_at"
        )
    )
    verdicts: defaultdict[tuple[int, str], dict[bool, Any]] = defaultdict(dict)
    for item_id, _, judge, _, order_reversed, value, _ in rows:
        verdicts[(item_id, judge)][order_reversed] = value_of[value]
    by_item: defaultdict[int, list] = defaultdict(list)
    for item_id, label_id, judge, kind, order_reversed, value, given_at in rows:
        if order_reversed or not (
            selection.judge_order_inconsistent or order_consistent(kind, verdicts[(item_id, judge)])
        ):
            continue
        by_item[item_id].append(
            _new(LabelFacts, (label_id, f"judge:{judge}", value_of[value], None, given_at))
        )
    return by_item


def _labels_of(
    first: int, last: int, selection: Selection, value_of: "_Decoded"
) -> dict[int, list[LabelFacts]]:
    """Each item's labels that the selection keeps, by label id."""
    if selection.source_labels:
        return _source_labels_of(first, last, selection, value_of)
    if selection.judge_labels:
        return _judge_labels_of(first, last, selection, value_of)
    labels = Label.objects.filter(item_id__gte=first, item_id__lte=last)
    if selection.excluded_labeller_ids:
        labels = labels.exclude(labeller_id__in=selection.excluded_labeller_ids)
    if selection.since is not None:
        labels = labels.filter(created_at__gte=selection.since)
    rows = _fetched(
        labels.annotate(
            value_json=Cast("value", TextField()),
            spent=F("seconds_spent") if selection.audit_trail else Value(None, output_field=FloatField()),
            given_at=_timestamp("created_at", connections[labels.db].vendor, selection),
        )
        .order_by("item_id", "id")
        .values_list("item_id", "id", "labeller_id", "value_json", "spent", "given_at")
    )
    by_item: defaultdict[int, list] = defaultdict(list)
    for item_id, label_id, labeller_id, value, seconds_spent, given_at in rows:
        by_item[item_id].append(
            _new(LabelFacts, (label_id, labeller_id, value_of[value], seconds_spent, given_at))
        )
    return by_item


def _adjudications_of(first: int, last: int, selection: Selection, value_of: "_Decoded") -> dict[int, Any]:
    """Each adjudicated item's final label (human labels only: a source-label export reads none)."""
    if selection.source_labels:
        return {}
    rows = _fetched(
        Adjudication.objects.filter(item_id__gte=first, item_id__lte=last)
        .annotate(value_json=Cast("value", TextField()))
        .values_list("item_id", "value_json")
    )
    return {item_id: value_of[value] for item_id, value in rows}


def _read_ahead(reads: Iterator[T]) -> Iterator[T]:
    """`reads`, each next one read in a second thread while the caller works on this one.

    PostgreSQL runs the next chunk's queries while Python builds this chunk's records (+20 % rows/s
    measured; SQLite, whose reading is Python-bound, neither gains nor loses). The thread reads on its own
    connection, closed at the end, so this is only for callers outside a transaction: that connection
    would not see their uncommitted rows.
    """

    def close() -> None:
        reads.close()  # type: ignore[attr-defined]
        connections.close_all()  # the reading thread's connections only

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-reads") as reader:
        try:
            ahead = reader.submit(next, reads, None)
            while (read := ahead.result()) is not None:
                ahead = reader.submit(next, reads, None)
                yield read
        finally:
            reader.submit(close).result()


def item_facts(*, campaign: Campaign, kind: str, selection: Selection) -> Iterator[ItemFacts]:
    """The selection's non-gold items of this kind with their candidates and the labels it keeps, by item id."""
    params_of, value_of = _Decoded(params_complete, limit=10_000), _Decoded()
    generator_names = dict(Generator.objects.values_list("pk", "name"))  # a few: cheaper than a join per row

    def chunks() -> Iterator[
        tuple[list[tuple], dict[int, list], dict[int, Any], dict[int, list], dict[int, PromptFacts]]
    ]:
        for chunk in _item_chunks(campaign, kind, selection):
            first, last = chunk[0][0], chunk[-1][0]
            labels = _labels_of(first, last, selection, value_of)
            adjudications = _adjudications_of(first, last, selection, value_of)
            slots = _slots_of(first, last, generator_names, params_of)
            yield chunk, labels, adjudications, slots, _prompts_of(first, last, chunk)

    min_labels, generators = selection.min_labels, selection.generators
    ahead = selection.read_ahead and not connections[Item.objects.db].in_atomic_block
    reads = _read_ahead(chunks()) if ahead else chunks()
    for chunk, labels_by_item, adjudications, slots_by_item, prompts in reads:
        for item_id, built_at, prompt_id in chunk:
            labels = labels_by_item.get(item_id, ())
            if len(labels) < min_labels:
                continue
            candidates = tuple(slots_by_item.get(item_id, ()))
            if generators and any(c.generator not in generators for c in candidates):
                continue
            adjudication = adjudications.get(item_id)
            facts = (item_id, kind, built_at, prompts[prompt_id], candidates, tuple(labels), adjudication)
            yield _new(ItemFacts, facts)


_value = attrgetter("value")  # map(_value, labels): no comprehension (a function call each in 3.11)


def pairwise_records(*, campaign: Campaign, selection: Selection) -> Iterator[Record]:
    """Pairwise items aggregated by majority; the outcome is the majority choice, or "split" on a tie vote."""
    # Label values are shared decoded objects (`_Decoded`) and few combinations occur: aggregate each
    # combination once, keyed by the values' ids. The entry holds the values, so their ids stay theirs.
    aggregates: dict[tuple[int, ...], tuple[pairwise.PairwiseAggregate, list]] = {}
    for item in item_facts(campaign=campaign, kind=pairwise.NAME, selection=selection):
        key = tuple(map(id, map(_value, item.labels)))
        known = aggregates.get(key)
        if known is None:
            if len(aggregates) >= 10_000:
                aggregates.clear()
            values = list(map(_value, item.labels))
            known = aggregates[key] = (pairwise.aggregate(values), values)
        aggregate = agreed = known[0]
        if item.adjudication is not None:
            aggregate = pairwise.aggregate([item.adjudication])
        elif aggregate.agreement < selection.min_agreement:
            continue
        yield _new(Record, (campaign.name, item, aggregate, aggregate.choice or "split", agreed.agreement))


def _verdict_outcome(aggregate: Any) -> str:
    return aggregate.verdict or "split"


def _setwise_outcome(aggregate: setwise.SetwiseAggregate) -> str:
    return f"diversity {aggregate.diversity_median}"


def _set_vs_set_outcome(aggregate: set_vs_set.SetVsSetAggregate) -> str:
    return f"preferred {aggregate.preferred}" if aggregate.preferred else "split"


def _ranking_outcome(aggregate: ranking.RankingAggregate) -> str:
    if aggregate.all_flawed:
        return "all flawed"
    return "clear best" if aggregate.clear_top else "no clear best"


def _kind_records(kind: Any, outcome: Callable[[Any], str]) -> "RecordsIterator":
    """Items of a kind aggregated by the kind's own `aggregate`, kept when agreement reaches the threshold."""

    def records(*, campaign: Campaign, selection: Selection) -> Iterator[Record]:
        for item in item_facts(campaign=campaign, kind=kind.NAME, selection=selection):
            aggregate = agreed = kind.aggregate([label.value for label in item.labels])
            if item.adjudication is not None:
                aggregate = kind.aggregate([item.adjudication])
            elif aggregate.agreement < selection.min_agreement:
                continue
            yield Record(campaign.name, item, aggregate, outcome(aggregate), agreed.agreement)

    return records


RecordsIterator = Callable[..., Iterator[Record]]
RECORDS: dict[str, RecordsIterator] = {
    pairwise.NAME: pairwise_records,
    correctness.NAME: _kind_records(correctness, _verdict_outcome),
    coherence.NAME: _kind_records(coherence, _verdict_outcome),
    setwise.NAME: _kind_records(setwise, _setwise_outcome),
    set_vs_set.NAME: _kind_records(set_vs_set, _set_vs_set_outcome),
    ranking.NAME: _kind_records(ranking, _ranking_outcome),
}


def export_records(*, campaign: Campaign, selection: Selection) -> Iterator[Record]:
    """The selection's records of the campaign, aggregated by its task kind's rule (one of RECORDS), by item id."""
    return RECORDS[campaign.kind](campaign=campaign, selection=selection)


# How each kind's labels are combined, in words, for the dataset card; `agreement` is what --min-agreement reads.
AGGREGATION_IN_WORDS = {
    pairwise.NAME: "majority vote of each item's labels; agreement is the share of labels giving the majority choice.",
    correctness.NAME: "majority verdict of each item's labels; agreement is the share giving the most given verdict.",
    coherence.NAME: "majority verdict of each item's labels; agreement is the share giving the most given verdict.",
    setwise.NAME: "mean diversity rating, duplicate pairs marked by more than half of the labellers, best and "
    "worst by plurality; agreement is the share of ratings within 1 of the median rating.",
    set_vs_set.NAME: "majority per question; agreement is the share of labels agreeing with the preferred set.",
    ranking.NAME: "ranked pairs (Tideman) over the labellers' orders; agreement is the share of the labellers' "
    "pairwise preferences the consensus order keeps.",
}
