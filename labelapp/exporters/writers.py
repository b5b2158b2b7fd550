"""Where rows go: a JSONL file, a Parquet file, or a `datasets` DatasetDict folder, one file per split.

Everything is written into a hidden staging folder beside the destination and moved into place only
when complete, data and dataset card together; a failure removes the staging folder, so a crashed
export leaves no partial file and keeps any previous export at that path. A staging folder left by a
killed process is removed by the next export to the same path.

Rows are staged in parts (`PartFiles`): part n is one file per split, which any process may write.
Each split's parts are joined in order as they are made (`part_join`); a DatasetDict reads its parts
as they are at the commit.
"""

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from labelapp.errors import ApplicationError
from labelapp.exporters.columns import Shape, arrow_schema

JSONL, PARQUET, DATASET = "jsonl", "parquet", "dataset"
PARQUET_BATCH_ROWS = 20_000
STAGING_MARK = ".partial-"


def output_kind(out: Path) -> str:
    if out.suffix == ".jsonl":
        return JSONL
    if out.suffix == ".parquet":
        return PARQUET
    if out.suffix == "" or out.is_dir():
        return DATASET
    raise ApplicationError(
        f"{out}: the output must end in .jsonl or .parquet, or be a folder (no suffix) for a datasets "
        "DatasetDict.",
        {"field": "out"},
    )


def split_file(out: Path, split: str, splits: Sequence[str]) -> Path:
    """prefs.jsonl alone, or prefs-train.jsonl and prefs-test.jsonl (names `datasets` maps to splits)."""
    return out if len(splits) == 1 else out.with_name(f"{out.stem}-{split}{out.suffix}")


def card_file(out: Path) -> Path:
    """README.md inside a dataset folder; prefs.README.md beside a file (a README.md there may be someone's)."""
    return out / "README.md" if output_kind(out) == DATASET else out.with_name(f"{out.stem}.README.md")


def _dataset_folder_check(out: Path) -> None:
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / "dataset_dict.json").exists())
    ):
        raise ApplicationError(
            f"{out} exists and is not an earlier dataset export; choose a new folder.", {"field": "out"}
        )


def _stale_staging_remove(out: Path) -> None:
    """Remove staging folders of this destination whose process is gone (killed mid-export)."""
    for staging in out.parent.glob(f".{out.name}{STAGING_MARK}*"):
        pid = staging.name.rsplit(STAGING_MARK, 1)[1].split("-", 1)[0]
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(staging, ignore_errors=True)
        except (ValueError, PermissionError):
            continue


class _SplitFiles:
    """One open file per split, in the output's file format."""

    def __init__(
        self, kind: str, paths: Mapping[str, Path], columns: Mapping[str, Any], shape: Shape
    ) -> None:
        self.kind = kind
        self.paths = paths
        self._handles: dict[str, IO[bytes]] = {}
        self._writers: dict[str, Any] = {}
        self._batches: dict[str, list[dict[str, Any]]] = {split: [] for split in paths}
        if kind == JSONL:
            self._handles = {split: path.open("wb", buffering=1 << 20) for split, path in paths.items()}
        else:
            import pyarrow.parquet as pq

            self._schema = arrow_schema(columns, shape)
            self._writers = {split: pq.ParquetWriter(path, self._schema) for split, path in paths.items()}

    def write(self, split: str, values: dict[str, Any]) -> None:
        if self._handles:
            self._handles[split].write(orjson.dumps(values, option=orjson.OPT_APPEND_NEWLINE))
            return
        batch = self._batches[split]
        batch.append(values)
        if len(batch) >= PARQUET_BATCH_ROWS:
            self._flush(split)

    def _flush(self, split: str) -> None:
        batch = self._batches[split]
        if not batch:  # always so for JSONL, which then never imports pyarrow (0.2-0.3 s per export worker)
            return
        import pyarrow as pa

        try:
            table = pa.Table.from_pylist(batch, schema=self._schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ApplicationError(
                f"A row does not fit the format's columns ({exc}); see the first row: {batch[0]!r:.300}",
                {"field": "format"},
            ) from None
        self._writers[split].write_table(table)
        batch.clear()

    def close(self) -> None:
        for split in self._batches:
            self._flush(split)
        for handle in self._handles.values():
            handle.close()
        for writer in self._writers.values():
            writer.close()

    def abandon(self) -> None:
        for handle in self._handles.values():
            handle.close()
        for writer in self._writers.values():
            writer.close()


@dataclass(frozen=True)
class PartFiles:
    """The staged parts of an export: `open(n)` gives part n's files, one per split, to write rows into."""

    folder: Path
    kind: str  # JSONL or PARQUET
    splits: tuple[str, ...]
    columns: Mapping[str, Any]
    shape: Shape

    def path(self, index: int, split: str) -> Path:
        return self.folder / f"{split}-{index:06d}.{self.kind}"

    def open(self, index: int) -> _SplitFiles:
        paths = {split: self.path(index, split) for split in self.splits}
        return _SplitFiles(self.kind, paths, self.columns, self.shape)

    def written(self, split: str) -> list[Path]:
        """A split's part files, in part order."""
        return sorted(self.folder.glob(f"{split}-*.{self.kind}"))


class _JsonlJoin:
    """A split's staged JSONL file, the split's part files appended to it in part order."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self._file = target.open("wb")

    def append(self, part: Path) -> None:
        with part.open("rb") as source:
            size, sent = os.fstat(source.fileno()).st_size, 0
            while sent < size:  # copied by the kernel, never through Python
                sent += os.sendfile(self._file.fileno(), source.fileno(), sent, size - sent)
        part.unlink()
        # To disk now, while the next parts are being made: the commit then waits for one part, not all.
        os.fdatasync(self._file.fileno())

    def close(self) -> None:
        """Close the file, on disk once this returns."""
        os.fsync(self._file.fileno())
        self._file.close()

    def abandon(self) -> None:
        self._file.close()


class _ParquetJoin:
    """A split's staged Parquet file, the row groups of the split's part files appended in part order."""

    def __init__(self, target: Path, schema: Any) -> None:
        import pyarrow.parquet as pq

        self.target, self._schema = target, schema
        self._writer = pq.ParquetWriter(target, schema)

    def append(self, part: Path) -> None:
        import pyarrow.parquet as pq

        self._writer.write_table(pq.read_table(part, schema=self._schema))
        part.unlink()

    def close(self) -> None:
        """Close the file, on disk once this returns."""
        self._writer.close()
        descriptor = os.open(self.target, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def abandon(self) -> None:
        self._writer.close()


class StagedOutput:
    """Stage parts of rows (`parts`), then `commit(card)`; leaving the block without committing discards everything."""

    def __init__(self, *, out: Path, splits: Sequence[str], columns: Mapping[str, Any], shape: Shape) -> None:
        self.out = out
        self.kind = output_kind(out)
        self.splits = tuple(splits)
        self._columns, self._shape = columns, shape
        if self.kind == DATASET:
            _dataset_folder_check(out)

    def __enter__(self) -> "StagedOutput":
        self.out.parent.mkdir(parents=True, exist_ok=True)
        _stale_staging_remove(self.out)
        self.staging = Path(
            tempfile.mkdtemp(prefix=f".{self.out.name}{STAGING_MARK}{os.getpid()}-", dir=self.out.parent)
        )
        self._committed = False
        (self.staging / "parts").mkdir()
        self.parts = PartFiles(
            folder=self.staging / "parts",
            kind=JSONL if self.kind == JSONL else PARQUET,
            splits=self.splits,
            columns=self._columns,
            shape=self._shape,
        )
        joined_splits = (
            self.splits if self.kind != DATASET else ()
        )  # a DatasetDict reads its parts at the commit
        self._joined = {
            split: self._join(self.staging / split_file(self.out, split, self.splits).name)
            for split in joined_splits
        }
        return self

    def _join(self, target: Path) -> _JsonlJoin | _ParquetJoin:
        if self.kind == JSONL:
            return _JsonlJoin(target)
        return _ParquetJoin(target, arrow_schema(self._columns, self._shape))

    def part_join(self, index: int) -> None:
        """Append part `index` to each split's staged file; parts are joined in order, each once it is
        made, so the joining overlaps the making of the next parts and the commit has little left to do."""
        for split, joined in self._joined.items():
            joined.append(self.parts.path(index, split))

    def final_path(self, split: str) -> Path:
        return self.out if self.kind == DATASET else split_file(self.out, split, self.splits)

    def commit(self, card: str) -> list[Path]:
        """Add the card to the joined parts, and move it all into place; returns the paths written."""
        if self.kind == DATASET:
            return self._dataset_commit(card)
        moves = []
        for split, joined in self._joined.items():
            joined.close()
            moves.append((joined.target, split_file(self.out, split, self.splits)))
        staged_card = self.staging / card_file(self.out).name
        staged_card.write_text(card, encoding="utf-8")
        moves.append((staged_card, card_file(self.out)))
        for staged, final in moves:
            os.replace(staged, final)
        self._committed = True
        shutil.rmtree(self.staging, ignore_errors=True)
        return [final for _, final in moves]

    def _dataset_commit(self, card: str) -> list[Path]:
        import datasets

        bars_were_on = not datasets.are_progress_bars_disabled()
        datasets.disable_progress_bars()
        try:
            parts = {
                split: datasets.Dataset.from_parquet(
                    [str(path) for path in self.parts.written(split)],
                    cache_dir=str(self.staging / "cache"),
                    split=split,
                )
                for split in self.splits
            }
            folder = self.staging / "dataset"
            datasets.DatasetDict(parts).save_to_disk(str(folder))
        finally:
            if bars_were_on:
                datasets.enable_progress_bars()
        (folder / "README.md").write_text(card, encoding="utf-8")
        previous = None
        if self.out.exists():
            previous = self.staging / "previous"
            os.replace(self.out, previous)
        os.replace(folder, self.out)
        self._committed = True
        shutil.rmtree(self.staging, ignore_errors=True)
        return [self.out]

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._committed:
            for joined in self._joined.values():
                joined.abandon()
            shutil.rmtree(self.staging, ignore_errors=True)
