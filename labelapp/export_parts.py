"""An export's rows, made in parts: each part is a range of items whose rows are written to its own files.

A part reads its records (`selectors.records.export_records`) and hands them to the plan's format, whose
rows it writes to each row's split. This is mechanism between the export service and the reads, not a
service of its own: it writes no row of the database.

Parts are independent (a record needs only its own item's labels), so several worker processes can
make them at once; the staged output joins them in order, so the files are the same however many
workers made them. Workers are forked from this process and read on their own connections, so they
see only committed rows: inside a transaction, or on an in-memory SQLite database, parts are made
here one after another, as they are in a process that may not fork (a Celery prefork pool's child).
"""

import ctypes
import gc
import os
import signal
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing import current_process, get_context

from django.db import connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper

from labelapp.exporters.card import ExportStats
from labelapp.exporters.splits import TRAIN, split_of
from labelapp.exporters.writers import PartFiles
from labelapp.models import Item
from labelapp.selectors.exports import ExportPlan
from labelapp.selectors.records import ItemRange, export_records, exported_item_count, item_ranges

PR_SET_PDEATHSIG = 1  # Linux prctl option: the signal a process gets when its parent dies
PART_ITEMS = 10_000  # two read chunks: a part's reads overlap its writing (selectors.records._read_ahead)
SMALLEST_PART_ITEMS = 1_000
PARTS_PER_WORKER = 4  # parts differ in cost: several each keep the workers evenly busy to the end


@dataclass(frozen=True)
class PartWritten:
    index: int
    rows: int
    stats: ExportStats  # what the dataset card counts, for this part's rows


def export_part_write(
    *, plan: ExportPlan, files: PartFiles, index: int, items: ItemRange, read_ahead: bool = True
) -> PartWritten:
    """Write the rows of the plan's items in `items` as part `index`, each row to its prompt's split."""
    stats = ExportStats()
    selection = replace(plan.selection, items=items, read_ahead=read_ahead)
    records = stats.observed(export_records(campaign=plan.campaign, selection=selection))
    seed, test_fraction = plan.options.seed, plan.options.test_fraction
    row_label, count = plan.rows_format.row_label, 0
    part = files.open(index)
    write, row_written = part.write, stats.row_written
    try:
        for group, values in plan.rows_format.rows(records, plan.row_options):
            split = split_of(group, seed, test_fraction) if test_fraction else TRAIN
            write(split, values)
            row_written(split, row_label(values), values)
            count += 1
        part.close()
    except BaseException:
        part.abandon()
        raise
    return PartWritten(index=index, rows=count, stats=stats)


def export_parts_write(*, plan: ExportPlan, files: PartFiles, workers: int) -> Iterator[PartWritten]:
    """Write every part of the plan, in up to `workers` processes; each part as it is done, in order."""
    campaign, kind = plan.campaign, plan.campaign.kind
    size = part_size(items=exported_item_count(campaign=campaign, kind=kind), workers=workers)
    ranges = list(item_ranges(campaign=campaign, kind=kind, size=size))
    workers = min(workers, len(ranges))
    if workers <= 1 or not _process_can_fork() or not _workers_can_read():
        for index, items in enumerate(ranges):
            yield export_part_write(plan=plan, files=files, index=index, items=items)
        return
    yield from _parts_in_workers(plan, files, ranges, workers)


def part_size(*, items: int, workers: int) -> int:
    """Items per part: PART_ITEMS, or fewer so that each worker gets PARTS_PER_WORKER parts."""
    return min(PART_ITEMS, max(SMALLEST_PART_ITEMS, -(-items // (workers * PARTS_PER_WORKER))))


def default_workers() -> int:
    return len(os.sched_getaffinity(0))


def _process_can_fork() -> bool:
    """A daemonic process, such as a child of Celery's prefork pool, may not start processes of its own."""
    return not current_process().daemon


def _workers_can_read() -> bool:
    """Whether forked workers, on their own connections, would read what this process reads."""
    connection = connections[Item.objects.db]
    if connection.in_atomic_block:  # they would not see its uncommitted rows
        return False
    return not (isinstance(connection, SQLiteDatabaseWrapper) and connection.is_in_memory_db())


# A forked worker's part of the export: set once per worker process, before its first part.
_worker_job: tuple[ExportPlan, PartFiles] | None = None


def _worker_start(plan: ExportPlan, files: PartFiles, parent: int) -> None:
    global _worker_job
    _worker_job = (plan, files)
    _die_with(parent)
    # A part makes a million short-lived tuples and no cycles: never scan what the worker inherited, and
    # collect less often (7 % fewer instructions measured).
    gc.freeze()
    gc.set_threshold(50_000)


def _die_with(parent: int) -> None:
    """Stop when the export's process dies (killed mid-export), instead of writing parts nobody will join."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before that took effect
        os._exit(1)


def _worker_part(index: int, items: ItemRange) -> PartWritten:
    assert _worker_job is not None
    plan, files = _worker_job
    try:
        # No reading thread: the other workers use the CPU while this one waits for the database,
        # and two threads in one process only take turns (measured faster without it).
        return export_part_write(plan=plan, files=files, index=index, items=items, read_ahead=False)
    finally:
        connections.close_all()


def _parts_in_workers(
    plan: ExportPlan, files: PartFiles, ranges: list[ItemRange], workers: int
) -> Iterator[PartWritten]:
    # Forked children inherit this process's open connections, and one socket used by two processes
    # corrupts both: close them first. Every worker is forked at the first submit (the "fork" method),
    # so this process may reconnect afterwards.
    connections.close_all()
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("fork"),
        initializer=_worker_start,
        initargs=(plan, files, os.getpid()),
    )
    pending: deque[Future[PartWritten]] = deque()
    try:
        for index, items in enumerate(ranges):
            pending.append(pool.submit(_worker_part, index, items))
            if len(pending) >= 2 * workers:  # at most two parts waiting per worker
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
