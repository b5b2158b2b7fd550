"""Import formats, one module each, all reading records from the shared readers in `records`.

A format module defines NAME, SUMMARY, COLUMNS (the columns a CSV header or Parquet schema must hold: one
of each group), GROUPS (what its rows group answers into: None, "pairs" or "scored sets"; `items` says
which campaign kinds each fits) and `rows(records, *, source)`, a generator of `rows.ImportRow`, one per
record, that raises ApplicationError naming the file, line and field of the first bad record. `source`
names the dataset: its verdicts are stored as that source's labels, and answers it does not attribute to a
model are that source's. Adding a format is one module plus one line here.
"""

from collections.abc import Iterable, Iterator
from types import ModuleType

from labelapp.errors import ApplicationError
from labelapp.importers import arena, candidates, hh_rlhf, shp, trl_preference, ultrafeedback
from labelapp.importers.records import RecordFile, SourceRecord
from labelapp.importers.rows import ImportRow, columns_check, rows_checked

FORMATS: dict[str, ModuleType] = {
    module.NAME: module for module in (candidates, trl_preference, hh_rlhf, shp, ultrafeedback, arena)
}


def importer_get(name: str) -> ModuleType:
    try:
        return FORMATS[name]
    except KeyError:
        raise ApplicationError(
            f"Unknown import format '{name}'. Allowed: {', '.join(FORMATS)}.", {"field": "format"}
        ) from None


def import_rows(
    *, format: str, file: RecordFile, source: str, records: Iterable[SourceRecord] | None = None
) -> Iterator[ImportRow]:
    """The rows of an opened file in `format`, parsed as they are consumed. `records` replaces the file's
    own (a progress bar wrapping them); the header or schema is checked at once."""
    importer = importer_get(format)
    columns_check(file.columns, importer.COLUMNS, file.name)
    return rows_checked(
        importer.rows(file.records() if records is None else records, source=source), file.name
    )
