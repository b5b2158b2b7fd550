"""What an output format is made of, and what it is given to make rows from."""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from labelapp.exporters.options import ExportOptions
from labelapp.exporters.records import Record


class Row(NamedTuple):
    group: str  # rows of one group (one prompt's content) always land in the same split
    values: dict[str, Any]


@dataclass(frozen=True)
class ExportContext:
    campaign: str
    kind: str  # the campaign's task kind
    options: ExportOptions
    records: Callable[[str], Iterator[Record]]  # the selected records of one task kind
    pseudonym: Callable[[int], str]  # a labeller's stable pseudonymous id, never their username


def _no_check(options: ExportOptions) -> None:
    return None


@dataclass(frozen=True)
class Format:
    name: str
    summary: str  # one line, for --help and the dataset card
    columns: Mapping[str, Any]  # column name -> type from labelapp.exporters.columns, in row order
    rows: Callable[[ExportContext], Iterator[Row]]
    row_label: Callable[[dict[str, Any]], str]  # what the card's label distribution counts
    check: Callable[[ExportOptions], None] = _no_check  # raise ApplicationError for options it cannot use
