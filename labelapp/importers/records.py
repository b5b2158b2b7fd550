"""The input readers, one per file kind, shared by every import format: JSONL, CSV, Parquet, and a folder
that `datasets` wrote with `save_to_disk`. Each yields the file's records one at a time, as dicts of
column -> value, with where each came from (file and line, or file and row), so a format's error can
name the line and field. None holds more than a record batch (Parquet, Arrow) or a line in memory.
"""

import csv
import datetime
import decimal
import gzip
import json
import math
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import orjson

from labelapp.errors import ApplicationError
from labelapp.user_text import MAX_DEPTH, TOO_DEEP

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
CSV_FIELD_MAX_CHARS = 2**26  # csv's default, 131,072 characters, is less than a long conversation
BATCH_ROWS = 1024  # Parquet and Arrow rows decoded at a time
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass  # not frozen: see SourceRecord
class Where:
    """A record's place: `file, line 3` (JSONL, CSV) or `file, row 3` (Parquet, datasets folders)."""

    file: str
    number: int
    unit: str = "line"

    def __str__(self) -> str:
        return f"{self.file}, {self.unit} {self.number}"

    @property
    def origin(self) -> str:
        """Short form kept with what was imported: `file:3`."""
        return f"{self.file}:{self.number}"

    def error(self, message: str, field: str | None = None) -> ApplicationError:
        """`file, line 3, field 'chosen': what is wrong`, with the same parts in `extra`."""
        where = f"{self}, field '{field}'" if field else str(self)
        return ApplicationError(
            f"{where}: {message}", {"file": self.file, self.unit: self.number, "field": field}
        )


@dataclass
class SourceRecord:
    """One record of an input file. `cells_are_text`: read from CSV, where every value is text and a
    list or object is written as JSON.

    Not frozen, like the other classes made once per record (Where, and rows.PromptSpec, CandidateSpec and
    ImportRow): a frozen dataclass sets each field through object.__setattr__, three times slower, which
    a million-row import feels. None of them is changed once made."""

    where: Where
    fields: dict[str, Any]
    cells_are_text: bool = False
    progress: int = 0  # bytes or rows read so far, in the file's RecordFile.unit
    # Known to hold nothing the text checks refuse: parsed by orjson (which refuses lone surrogates) from
    # a line without a \u0000 escape and with too few brackets to nest deeper than MAX_DEPTH.
    checked: bool = False


@dataclass
class RecordFile:
    """An opened input file: its name, how big it is (for a progress bar) and its records."""

    name: str
    unit: str  # "B" (JSONL, CSV) or "row" (Parquet, datasets folders)
    total: int | None
    columns: Sequence[str] | None  # the header or schema, when the file has one
    read: Callable[[], Iterator[SourceRecord]]
    closers: list[Callable[[], None]] = field(default_factory=list)

    def records(self) -> Iterator[SourceRecord]:
        return self.read()

    def close(self) -> None:
        for close in self.closers:
            close()


def file_error(name: str, message: str) -> ApplicationError:
    return ApplicationError(f"{name}: {message}", {"file": name})


def _decoded(raw: bytes, where: Where) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise where.error(f"not UTF-8 text (byte {exc.start} of the line)") from None


def _json_line(raw: bytes, where: Where) -> tuple[Any, bool]:
    """The line's JSON, and whether it is known to pass the text checks (SourceRecord.checked). orjson
    first (fast); on a refusal, the standard parser names the problem or accepts what orjson will not (a
    lone surrogate escape, which the text checks then name by field)."""
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        return parsed, b"\\u0000" not in raw and raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH
    text = _decoded(raw, where).rstrip("\r\n")  # an unterminated string's error is not about the newline
    try:
        return json.loads(text, parse_constant=_no_constant), False
    except ValueError as exc:
        if not isinstance(exc, json.JSONDecodeError):
            raise where.error(f"not valid JSON ({exc})") from None
        raise where.error(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise where.error(f"the line {TOO_DEEP}") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _readable(lines: Iterable[bytes], name: str) -> Iterator[bytes]:
    """The lines, a damaged compressed file refused by name rather than failing the request."""
    try:
        for line in lines:  # noqa: UP028  # `yield from` would close the file when a reader stops early
            yield line
    except (OSError, EOFError, zlib.error) as exc:
        raise file_error(name, f"cannot be read ({exc})") from None


def _jsonl_records(lines: Iterable[bytes], name: str) -> Iterator[SourceRecord]:
    read = 0
    for number, raw in enumerate(_readable(lines, name), start=1):
        read += len(raw)
        if number == 1 and raw.startswith(UTF8_BOM):
            raw = raw[len(UTF8_BOM) :]
        if not raw.strip():
            continue
        where = Where(name, number)
        record, checked = _json_line(raw, where)
        if not isinstance(record, dict):
            raise where.error("each line must be a JSON object")
        yield SourceRecord(where, record, progress=read, checked=checked)


class _CountingLines:
    """The file's lines, decoded one at a time (a bad byte names its line), counting the bytes read."""

    def __init__(self, lines: Iterable[bytes], name: str) -> None:
        self.lines, self.name, self.read = lines, name, 0

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(_readable(self.lines, self.name), start=1):
            self.read += len(raw)
            if number == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
            yield _decoded(raw, Where(self.name, number))


def _csv_records(lines: Iterable[bytes], name: str) -> Iterator[SourceRecord]:
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_MAX_CHARS))
    counted = _CountingLines(lines, name)
    reader = csv.DictReader(counted)
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Where(name, reader.line_num).error(f"not valid CSV ({exc})") from None
        where = Where(name, reader.line_num)
        if None in record:
            raise where.error("more cells than header columns")
        # An empty cell is a missing value, as a missing key is in JSONL.
        cells = {key: value for key, value in record.items() if value not in ("", None)}
        yield SourceRecord(where, cells, cells_are_text=True, progress=counted.read)


def _csv_header(path_or_lines: Iterable[bytes], name: str) -> list[str]:
    reader = csv.reader(_CountingLines(path_or_lines, name))
    return next(reader, [])


def json_ready(value: Any) -> Any:
    """An Arrow value as JSON can hold it: times as ISO text, decimals as numbers, NaN as null, binary as
    UTF-8 text (Arrow columns can hold what a JSON file cannot). A struct's null fields are left out:
    Arrow gives every row every field of its column's struct, so null there is a field the row lacks."""
    if isinstance(value, str | int | bool) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _arrow_batches_records(batches: Iterable[Any], name: str) -> Iterator[SourceRecord]:
    import pyarrow as pa

    number = 0
    try:
        for batch in batches:
            for row in batch.to_pylist():
                number += 1
                yield SourceRecord(Where(name, number, "row"), json_ready(row), progress=number)
    except pa.ArrowException as exc:
        raise Where(name, number + 1, "row").error(f"cannot be read ({exc})") from None


def _open_binary(path: Path) -> IO[bytes]:
    return cast(IO[bytes], gzip.open(path, "rb")) if path.suffix == ".gz" else path.open("rb")


def _kind_of(name: str) -> str:
    lower = name.lower().removesuffix(".gz")
    if lower.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith(".parquet"):
        return "parquet"
    raise file_error(
        name, "unknown file type; use .jsonl, .csv (either may be .gz), .parquet, or a datasets folder"
    )


def _parquet_file(file: Any, name: str) -> RecordFile:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(file)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...: the file is not Parquet
        raise file_error(name, f"not a Parquet file ({exc})") from None
    return RecordFile(
        name=name,
        unit="row",
        total=parquet.metadata.num_rows,
        columns=parquet.schema_arrow.names,
        read=lambda: _arrow_batches_records(parquet.iter_batches(batch_size=BATCH_ROWS), name),
        closers=[parquet.close],
    )


def record_file_open(path: Path) -> RecordFile:
    """The file (or datasets folder) at `path`, ready to read; refused, naming it, when it is not one."""
    if path.is_dir():
        return _datasets_folder(path)
    if not path.is_file():
        raise file_error(str(path), "no such file or folder")
    kind = _kind_of(path.name)
    if kind == "parquet":
        return _parquet_file(path, path.name)
    total = None if path.suffix == ".gz" else path.stat().st_size
    reader = _jsonl_records if kind == "jsonl" else _csv_records
    opened: list[IO[bytes]] = []

    def read() -> Iterator[SourceRecord]:
        opened.append(_open_binary(path))
        return reader(opened[-1], path.name)

    columns = None
    if kind == "csv":
        with _open_binary(path) as head:
            columns = _csv_header(head, path.name)

    def close() -> None:
        for file in opened:
            file.close()

    return RecordFile(path.name, "B" if total is not None else "line", total, columns, read, closers=[close])


def record_file_upload(*, name: str, file: Any, size: int | None) -> RecordFile:
    """An uploaded file (a seekable binary file object): JSONL, CSV or Parquet."""
    kind = _kind_of(name)
    if kind == "parquet":
        return _parquet_file(file, name)
    if name.lower().endswith(".gz"):
        file = gzip.GzipFile(fileobj=file)
        size = None
    columns = None
    if kind == "csv":
        columns = _csv_header(file, name)
        file.seek(0)
    reader = _jsonl_records if kind == "jsonl" else _csv_records
    return RecordFile(name, "B" if size else "line", size, columns, lambda: reader(file, name))


def _datasets_folder(path: Path) -> RecordFile:
    """A folder `Dataset.save_to_disk` wrote (state.json and Arrow files), or one of a DatasetDict
    (dataset_dict.json and a folder per split, read split after split). The Arrow files are memory-mapped
    and read a record batch at a time, so nothing is loaded whole."""
    import pyarrow as pa

    if (path / "dataset_dict.json").is_file():
        splits = _json_file(path / "dataset_dict.json", path.name).get("splits") or []
        parts = [(path / str(split), f"{path.name}/{split}") for split in splits]
    elif (path / "state.json").is_file():
        parts = [(path, path.name)]
    else:
        raise file_error(
            path.name, "not a datasets folder (no state.json or dataset_dict.json from save_to_disk)"
        )
    files = [(name, _arrow_files(folder, name)) for folder, name in parts]
    total, columns = 0, None
    for name, arrow_files in files:
        for arrow in arrow_files:
            try:
                with pa.memory_map(str(arrow)) as source:
                    reader = pa.ipc.open_stream(source)
                    columns = columns or reader.schema.names
                    total += sum(batch.num_rows for batch in reader)
            except (OSError, pa.ArrowException) as exc:
                raise file_error(
                    f"{name}/{arrow.name}", f"not an Arrow file of a datasets folder ({exc})"
                ) from None

    def read() -> Iterator[SourceRecord]:
        done = 0
        for name, arrow_files in files:
            earlier = 0  # rows of this split in the files before
            for arrow in arrow_files:
                here = 0
                with pa.memory_map(str(arrow)) as source:
                    for record in _arrow_batches_records(pa.ipc.open_stream(source), name):
                        here = record.where.number
                        yield SourceRecord(
                            Where(name, earlier + here, "row"), record.fields, progress=done + here
                        )
                earlier, done = earlier + here, done + here

    return RecordFile(path.name, "row", total, columns, read)


def _json_file(path: Path, name: str) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        loaded = None
    if not isinstance(loaded, dict):
        raise file_error(name, f"not a datasets folder ({path.name} is not a JSON object)")
    return loaded


def _arrow_files(folder: Path, name: str) -> list[Path]:
    try:
        state = _json_file(folder / "state.json", name)
        return [folder / entry["filename"] for entry in state["_data_files"]]
    except (KeyError, TypeError):
        raise file_error(name, "not a datasets folder (its state.json lists no data files)") from None
