"""Import a dataset into a campaign: prompts, answers (candidates of `external` generators), items as the
dataset grouped its answers, and the dataset's own verdicts as source labels.

All or nothing, streaming, idempotent by content. The rows are read as they are consumed and written in
batches of BATCH_ROWS, every batch in the one transaction of the whole file: memory holds one batch, and a
bad row anywhere, found when its batch is read, leaves nothing behind. Each batch looks up what already
exists by content key (prompts, answers) or by candidates (items: the same answers in an item of this
campaign and kind, however it was built), so importing a file again adds nothing, and an answer repeated
by the file (SHP's comments are in many pairs) is stored once.
"""

import gc
import itertools
import json
import random
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateTimeField, Field, JSONField, Model
from django.utils import timezone

from labelapp.errors import ApplicationError, TooLargeError
from labelapp.importers import import_rows, importer_get
from labelapp.importers.items import KINDS_FOR_GROUPS, PlannedItem, planned_items
from labelapp.importers.records import RecordFile, SourceRecord
from labelapp.importers.rows import MODEL_MAX_CHARS, ImportRow, origin_text
from labelapp.kinds import KINDS
from labelapp.models import (
    Campaign,
    Candidate,
    CandidateStep,
    Generator,
    GeneratorBackend,
    ItemCandidate,
    Prompt,
    SourceLabel,
)
from labelapp.services.items import ItemDraft, item_draft, items_create

BATCH_ROWS = 5000
SQLITE_CACHE_KIB = 64 * 1024
IN_LIST_MAX = 10_000
JSON_TEXTS_REMEMBERED = 10_000
SOURCE_MAX_CHARS = MODEL_MAX_CHARS  # it names the generator of answers the dataset attributes to no model


@dataclass
class Counted:
    new: int = 0
    existing: int = 0  # seen before: in the campaign already, imported before or by an earlier row


@dataclass
class DatasetImported:
    """What an import created, what it found already there, and what it could not make an item of."""

    file: str
    rows: int = 0
    prompts: Counted = field(default_factory=Counted)
    candidates: Counted = field(default_factory=Counted)
    items: Counted = field(default_factory=Counted)
    source_labels: Counted = field(default_factory=Counted)
    generators_created: list[str] = field(default_factory=list)
    skipped_identical: int = 0  # groups whose answers are the same text, which the kind cannot compare
    skipped_size: int = 0  # groups of more or fewer answers than the kind's items hold

    def summary(self) -> str:
        """One line: `hh.jsonl: 3 rows; new: 3 prompts, 6 candidates, 3 items, 3 source labels.`, and on a
        second import `hh.jsonl: 3 rows; 0 new; seen before: 3 prompts, ...`. Seen before: found in the
        campaign, imported before or by an earlier row of the file (a prompt several rows answer)."""
        kinds = (
            ("prompt", self.prompts),
            ("candidate", self.candidates),
            ("item", self.items),
            ("source label", self.source_labels),
        )
        new = [_counted(c.new, noun) for noun, c in kinds if c.new]
        there = [_counted(c.existing, noun) for noun, c in kinds if c.existing]
        parts = [_counted(self.rows, "row"), f"new: {', '.join(new)}" if new else "0 new"]
        if there:
            parts.append(f"seen before: {', '.join(there)}")
        if self.generators_created:
            parts.append(f"new external generators: {', '.join(self.generators_created)}")
        if self.skipped_identical:
            parts.append(f"{_counted(self.skipped_identical, 'group')} of identical answers not made items")
        if self.skipped_size:
            parts.append(
                f"{_counted(self.skipped_size, 'group')} of a size the campaign's kind cannot hold skipped"
            )
        return f"{self.file}: {'; '.join(parts)}."


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def dataset_import_check(*, campaign: Campaign, format: str) -> None:
    """Refuse at once a format whose items the campaign's kind cannot hold."""
    fits = KINDS_FOR_GROUPS[importer_get(format).GROUPS]
    if campaign.kind not in fits:
        raise ApplicationError(
            f"Format '{format}' imports into {', '.join(fits[:-1])} or {fits[-1]} campaigns; '{campaign.name}' is a "
            f"{campaign.kind} campaign.",
            {"field": "format", "allowed_kinds": list(fits)},
        )


@transaction.atomic
def dataset_import(
    *,
    campaign: Campaign,
    format: str,
    rows: Iterable[ImportRow],
    source: str,
    file_name: str,
    seed: int | None = None,
) -> DatasetImported:
    """Import the rows (an importer's, parsed as they are read) into the campaign. `source` names the
    dataset: its verdicts become that source's labels, and answers it attributes to no model that
    generator's. Raises ApplicationError, naming the file, line and field, and stores nothing, on the
    first bad row."""
    dataset_import_check(campaign=campaign, format=format)
    if not source.strip() or len(source) > SOURCE_MAX_CHARS:
        raise ApplicationError(
            f"Field 'source' must name the dataset in 1 to {SOURCE_MAX_CHARS} characters.",
            {"field": "source"},
        )
    # One import into a campaign at a time: another waits here, then finds what this one stored.
    Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    writer = _BatchWriter(campaign, format, source, DatasetImported(file=file_name), random.Random(seed))
    remaining = iter(rows)
    with _sqlite_page_cache(SQLITE_CACHE_KIB), _collected_per_batch():
        while batch := list(itertools.islice(remaining, BATCH_ROWS)):
            writer.write(batch)
            gc.collect(0)
    return writer.done


@contextmanager
def _collected_per_batch() -> Iterator[None]:
    """Python's cycle collector, left to itself, runs every few hundred objects made: a batch makes tens
    of thousands, nearly none in cycles, and the collector took an eighth of an import's CPU. It is
    switched off and run on the youngest objects once per batch instead, then switched back on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _sqlite_page_cache(kib: int) -> Iterator[None]:
    """SQLite caches 2 MB of pages by default: an import's indexes outgrow that within a few hundred
    thousand rows, and every batch then rewrites pages to disk, several times slower under I/O
    contention (bench/import_candidates.py). The connection's own size comes back after."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def dataset_upload_size_check(*, campaign: Campaign, content_length: str | None) -> None:
    """An upload imports inside its request, so over LABELAPP_IMPORT_UPLOAD_MAX_BYTES it is refused by its
    Content-Length, before its body is read, pointing to the command, which streams a file of any size."""
    limit = settings.LABELAPP_IMPORT_UPLOAD_MAX_BYTES
    size = int(content_length) if content_length and content_length.isdigit() else 0
    if size > limit:
        raise TooLargeError(
            f"The upload is {size / 1e6:.1f} MB; files up to {limit / 1e6:g} MB import here. Import a larger "
            f"one from the command line: python manage.py import_dataset FILE --campaign {campaign.name} "
            "--format FORMAT",
            {"field": "file", "max_bytes": limit},
        )


def dataset_file_import(
    *,
    campaign: Campaign,
    format: str,
    file: RecordFile,
    source: str | None = None,
    records: Iterable[SourceRecord] | None = None,
) -> DatasetImported:
    """Import an opened file (closed after) in `format`; `source` defaults to the format's name, and
    `records` may replace the file's own (wrapped in a progress bar)."""
    source = source or format
    try:
        dataset_import_check(campaign=campaign, format=format)
        rows = import_rows(format=format, file=file, source=source, records=records)
        return dataset_import(campaign=campaign, format=format, rows=rows, source=source, file_name=file.name)
    finally:
        file.close()


class _BatchWriter:
    def __init__(
        self, campaign: Campaign, format: str, source: str, done: DatasetImported, rng: random.Random
    ) -> None:
        self.campaign, self.format, self.source, self.done, self.rng = campaign, format, source, done, rng
        self.kind = KINDS[campaign.kind]
        self.generators: dict[str, int] = {}

    def write(self, rows: list[ImportRow]) -> None:
        self.done.rows += len(rows)
        prompt_ids = self._prompts(rows)
        self._generators(rows)
        grouped = any(row.groups for row in rows)
        candidate_ids = self._candidates(rows, prompt_ids, ids_wanted=grouped)
        if grouped:
            self._items(rows, prompt_ids, candidate_ids)

    def _prompts(self, rows: list[ImportRow]) -> dict[str, int]:
        """Prompt key -> id, storing the prompts not there yet (a prompt already there is skipped by its
        unique content key); a row may not give a prompt another reference answer than it has."""
        first: dict[str, ImportRow] = {}
        for row in rows:
            earlier = first.setdefault(row.prompt.key, row)
            _reference_check(row, earlier.prompt.reference_answer, earlier.where.origin)
        now = self.now()
        stored = PROMPT_INSERT.run(
            [
                [
                    self.campaign.pk,
                    row.prompt.text,
                    row.prompt.messages,
                    row.prompt.reference_answer,
                    row.prompt.metadata,
                    origin_text(row.where),
                    key,
                    now,
                ]
                for key, row in first.items()
            ]
        )
        self.done.prompts.new += stored
        self.done.prompts.existing += len(first) - stored
        # Not content_key "" (the unique index's condition, stated) and unordered: only so does SQLite find
        # the keys through that partial index instead of reading every prompt of the campaign per batch.
        found = {
            key: (prompt_id, reference, origin)
            for key, prompt_id, reference, origin in Prompt.objects.filter(
                campaign=self.campaign, content_key__in=list(first)
            )
            .exclude(content_key="")
            .order_by()
            .values_list("content_key", "id", "reference_answer", "source")
        }
        for row in rows:
            _, reference, origin = found[row.prompt.key]
            _reference_check(row, reference, origin)
        return {key: prompt_id for key, (prompt_id, _, _) in found.items()}

    def now(self) -> Any:
        return DateTimeField().get_db_prep_save(timezone.now(), connection)

    def _generators(self, rows: list[ImportRow]) -> None:
        """Each model named for the first time becomes a generator of backend `external`; a name that is
        a generator which runs is refused, so imported answers never pass for generated ones."""
        wanted = {answer.model for row in rows for answer in row.candidates} - self.generators.keys()
        if not wanted:
            return
        for generator in Generator.objects.filter(name__in=wanted):
            if generator.backend != GeneratorBackend.EXTERNAL:
                row = next(r for r in rows if any(a.model == generator.name for a in r.candidates))
                raise row.where.error(
                    f"'{generator.name}' is a {generator.backend} generator of this app; imported answers "
                    "need a model name of their own",
                    "model",
                )
            self.generators[generator.name] = generator.pk
        for name in sorted(wanted - self.generators.keys()):
            generator, created = Generator.objects.get_or_create(
                name=name, defaults={"backend": GeneratorBackend.EXTERNAL, "model": name}
            )
            self.generators[name] = generator.pk
            if created:
                self.done.generators_created.append(name)

    def _candidates(
        self, rows: list[ImportRow], prompt_ids: dict[str, int], *, ids_wanted: bool
    ) -> dict[str, int]:
        """Store the answers not there yet (an answer already there is skipped by its unique content key);
        with `ids_wanted`, answer key -> candidate id of every answer of the batch."""
        first: dict[str, tuple[ImportRow, int]] = {}
        for row in rows:
            for index, key in enumerate(row.candidate_keys):
                first.setdefault(key, (row, index))
        if not first:
            return {}
        now = self.now()
        values = [
            _candidate(row, index, key, prompt_ids[row.prompt.key], self.generators, now)
            for key, (row, index) in first.items()
        ]
        stored = CANDIDATE_INSERT.run(values)
        self.done.candidates.new += stored
        self.done.candidates.existing += len(values) - stored
        if not ids_wanted:
            return {}
        ids: dict[str, int] = {}
        for keys in _chunks(list(first)):
            ids |= dict(
                Candidate.objects.filter(
                    prompt_id__in={prompt_ids[first[key][0].prompt.key] for key in keys}, content_key__in=keys
                ).values_list("content_key", "id")
            )
        return ids

    def _items(
        self, rows: list[ImportRow], prompt_ids: dict[str, int], candidate_ids: dict[str, int]
    ) -> None:
        planned: list[tuple[ImportRow, PlannedItem, tuple[int, ...]]] = []
        for row in rows:
            for item in planned_items(row, self.campaign.kind):
                if len(item.candidates) not in self.kind.CANDIDATE_COUNTS:
                    self.done.skipped_size += 1
                elif not self.kind.ALLOWS_IDENTICAL_TEXTS and _identical(row, item.candidates):
                    self.done.skipped_identical += 1
                else:
                    ids = tuple(candidate_ids[row.candidate_keys[index]] for index in item.candidates)
                    planned.append((row, item, ids))
        item_ids = self._items_found(planned)
        drafts: list[ItemDraft] = []
        for row, _, ids in planned:
            if frozenset(ids) not in item_ids:
                item_ids[frozenset(ids)] = 0  # drafted: the same answers twice in the file make one item
                drafts.append(
                    item_draft(
                        kind=self.campaign.kind,
                        prompt_id=prompt_ids[row.prompt.key],
                        candidate_ids=ids,
                        rng=self.rng,
                    )
                )
            else:
                self.done.items.existing += 1
        created = items_create(campaign=self.campaign, kind=self.campaign.kind, drafts=drafts)
        for draft, made in zip(drafts, created, strict=True):
            item_ids[frozenset(draft.candidate_ids)] = made.pk
        self.done.items.new += len(drafts)
        self._source_labels(planned, item_ids)

    def _items_found(
        self, planned: Sequence[tuple[ImportRow, PlannedItem, tuple[int, ...]]]
    ) -> dict[frozenset[int], int]:
        """Candidate set -> id of this campaign's items of its kind holding exactly those candidates."""
        wanted = list({candidate_id for _, _, ids in planned for candidate_id in ids})
        item_ids: set[int] = set()
        for some in _chunks(wanted):
            item_ids.update(
                ItemCandidate.objects.filter(
                    item__campaign=self.campaign, item__kind=self.campaign.kind, candidate_id__in=some
                ).values_list("item_id", flat=True)
            )
        members: dict[int, set[int]] = {}
        for some in _chunks(list(item_ids)):
            for item_id, candidate_id in ItemCandidate.objects.filter(item_id__in=some).values_list(
                "item_id", "candidate_id"
            ):
                members.setdefault(item_id, set()).add(candidate_id)
        return {frozenset(ids): item_id for item_id, ids in members.items()}

    def _source_labels(
        self,
        planned: Sequence[tuple[ImportRow, PlannedItem, tuple[int, ...]]],
        item_ids: dict[frozenset[int], int],
    ) -> None:
        """The dataset's verdict on each item, once per item and source: a row repeating an item keeps the
        first verdict."""
        verdicts: dict[int, tuple[ImportRow, PlannedItem]] = {}
        for row, item, ids in planned:
            if item.value is not None:
                verdicts.setdefault(item_ids[frozenset(ids)], (row, item))
        existing: set[int] = set()
        for some in _chunks(list(verdicts)):
            existing.update(
                SourceLabel.objects.filter(item_id__in=some, source=self.source).values_list(
                    "item_id", flat=True
                )
            )
        new = [
            SourceLabel(
                item_id=item_id,
                source=self.source,
                format=self.format,
                value=item.value,
                raw=item.raw,
                origin=origin_text(row.where),
            )
            for item_id, (row, item) in verdicts.items()
            if item_id not in existing
        ]
        SourceLabel.objects.bulk_create(new)
        self.done.source_labels.new += len(new)
        self.done.source_labels.existing += len(existing)


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    """`values` in lists short enough for one IN (...) list: SQLite takes at most 32,766 parameters."""
    for start in range(0, len(values), IN_LIST_MAX):
        yield values[start : start + IN_LIST_MAX]


def _reference_check(row: ImportRow, reference: str, origin: str) -> None:
    given = row.prompt.reference_answer
    if given and reference and given != reference:
        raise row.where.error(
            f"the same prompt has another reference answer (from {origin}); a prompt has one",
            "reference_answer",
        )


def _identical(row: ImportRow, members: Sequence[int]) -> bool:
    texts = {row.candidates[index].text.strip() for index in members}
    return len(texts) < len(members)


class _Insert:
    """One INSERT statement run for many rows (executemany), each a list of column values. Django's
    bulk_create compiles every value through its field, which took several times the database's own time
    here (bench/import_candidates.py); these values are already what the columns hold, JSON aside. No
    model's save() or signal exists for these tables to skip; the values are checked by the importers.
    `skip_existing`: a row whose unique content key is taken is left out (ON CONFLICT DO NOTHING, which
    SQLite and PostgreSQL both speak), instead of looking each one up first."""

    def __init__(self, model: type[Model], names: Sequence[str], *, skip_existing: bool = False) -> None:
        meta = model._meta
        self.fields = [cast(Field, meta.get_field(name)) for name in names]
        self.json = [index for index, field in enumerate(self.fields) if isinstance(field, JSONField)]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(cast(str, field.column)) for field in self.fields)
        self.sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"
        if skip_existing:
            self.sql += " ON CONFLICT DO NOTHING"

    def run(self, rows: list[list[Any]]) -> int:
        """Insert the rows; how many were stored."""
        if not rows:
            return 0
        adapt = _sqlite_json_text if connection.vendor == "sqlite" else connection.ops.adapt_json_value
        for row in rows:
            for index in self.json:
                if row[index] is not None:  # None is SQL NULL, as JSONField saves it, not JSON null
                    row[index] = adapt(row[index], None)
        with connection.cursor() as cursor:
            cursor.executemany(self.sql, rows)
            return cursor.rowcount


_json_texts: dict[bytes, str] = {}


def _sqlite_json_text(value: Any, encoder: None) -> str:
    """json.dumps(value), as JSONField saves it on SQLite (where JSON is compared as this very text),
    remembered by the value's orjson text: the same params on a million rows are written once."""
    key = orjson.dumps(value)
    text = _json_texts.get(key)
    if text is None:
        if len(_json_texts) >= JSON_TEXTS_REMEMBERED:
            _json_texts.clear()
        text = _json_texts[key] = json.dumps(value)
    return text


PROMPT_INSERT = _Insert(
    Prompt,
    ("campaign", "text", "messages", "reference_answer", "metadata", "source", "content_key", "created_at"),
    skip_existing=True,
)
CANDIDATE_INSERT = _Insert(
    Candidate,
    (
        "prompt",
        "generator",
        "step",
        "params_key",
        "sample_index",
        "text",
        "rendered_prompt",
        "params",
        "seed",
        "finish_reason",
        "token_count",
        "logprob_sum",
        "logprob_mean",
        "metadata",
        "content_key",
        "created_at",
    ),
    skip_existing=True,
)


def _candidate(
    row: ImportRow, index: int, key: str, prompt_id: int, generators: dict[str, int], now: Any
) -> list[Any]:
    """CANDIDATE_INSERT's values for one answer."""
    answer = row.candidates[index]
    seed = answer.params.get("seed")
    logprobs = answer.logprobs
    return [
        prompt_id,
        generators[answer.model],
        CandidateStep.ANSWER.value,
        "",
        0,
        answer.text,
        "",
        answer.params,
        seed if isinstance(seed, int) and not isinstance(seed, bool) and abs(seed) < 2**63 else None,
        "",
        logprobs.token_count if logprobs else 0,
        logprobs.total if logprobs else None,
        logprobs.mean if logprobs else None,
        answer.metadata if answer.history is None else {**answer.metadata, "history": answer.history},
        key,
        now,
    ]
