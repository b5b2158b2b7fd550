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
    criteria: tuple[str, ...] = ()  # the campaign's criteria (pairwise: a choice per criterion)
    # Prompts and answers as chat messages, every row alike (`Shape.conversational`): PromptFacts.content_in
    conversational: bool = False


def _no_check(options: ExportOptions, kind: str) -> None:
    return None


@dataclass(frozen=True)
class Format:
    name: str
    summary: str  # one line, for --help and the dataset card
    columns: Mapping[str, Any]  # column name -> type from labelapp.exporters.columns, in row order
    rows: Callable[[ExportContext], Iterator[Row]]
    row_label: Callable[[dict[str, Any]], str]  # what the card's label distribution counts
    kinds: tuple[str, ...] = ()  # the task kinds whose campaigns it reads; empty: every kind
    # Raise ApplicationError for options it cannot use with a campaign of this task kind.
    check: Callable[[ExportOptions, str], None] = _no_check
    expanded: "Format | None" = None  # the format whose rows --expand-pairs writes instead
    audit_trail: bool = False  # its rows show labels' and items' times (records.Selection.audit_trail)
