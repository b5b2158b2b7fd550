"""What an output format is made of, and what it makes rows from."""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from labelapp.exporters.columns import Shape
from labelapp.exporters.options import ExportOptions
from labelapp.exporters.records import Record


class Row(NamedTuple):
    group: str  # rows of one group (one prompt's content) always land in the same split
    values: dict[str, Any]


class RowOptions(NamedTuple):
    """What a format makes its rows with besides the records: the options asked for, and the export's
    shape (chat messages or text, every row alike; the campaign's task kind and criteria)."""

    asked: ExportOptions
    shape: Shape


def _no_check(options: ExportOptions, kind: str) -> None:
    return None


@dataclass(frozen=True)
class Format:
    name: str
    summary: str  # one line, for --help and the dataset card
    columns: Mapping[str, Any]  # column name -> type from labelapp.exporters.columns, in row order
    # The rows made from the records of the campaign (its task kind's), by item id.
    rows: Callable[[Iterator[Record], RowOptions], Iterator[Row]]
    row_label: Callable[[dict[str, Any]], str]  # what the card's label distribution counts
    kinds: tuple[str, ...] = ()  # the task kinds whose campaigns it reads; empty: every kind
    # Raise ApplicationError for options it cannot use with a campaign of this task kind.
    check: Callable[[ExportOptions, str], None] = _no_check
    expanded: "Format | None" = None  # the format whose rows --expand-pairs writes instead
    audit_trail: bool = False  # its rows show labels' and items' times (records.Selection.audit_trail)
