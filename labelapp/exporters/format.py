"""What an output format is made of, and the records it makes rows from.

A record is an item with its candidates, its kept labels and their aggregate by the item's task kind.
`labelapp.selectors.records` reads them, millions per export: they are tuples, the cheapest Python
objects, and nothing downstream may change them.
"""

import datetime
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from labelapp.exporters.columns import Shape
from labelapp.exporters.options import ExportOptions


class PromptFacts(NamedTuple):
    id: int
    text: str
    messages: list[dict[str, str]] | None
    key: str  # hash of the content: prompts with equal content fall in the same split
    conversation_id: int  # its conversation's first prompt (itself, unless it continues a conversation)
    turn: int  # compared assistant turns deep: 1 for a first prompt

    def as_messages(self) -> list[dict[str, str]]:
        """The prompt as chat messages: a plain-text prompt is one user message."""
        return self.messages if self.messages is not None else [{"role": "user", "content": self.text}]

    def content_in(self, conversational: bool) -> str | list[dict[str, str]]:
        """The prompt in its export's form (`Shape.conversational`): every prompt of a conversational
        export as messages, so one column holds one type even where the campaign mixes the two forms."""
        return self.as_messages() if conversational else self.text


class CandidateFacts(NamedTuple):
    id: int
    text: str
    generator: str
    params: dict[str, Any]  # every sampling parameter name, None where unknown


class LabelFacts(NamedTuple):
    id: int
    labeller_id: int | str  # a user's id; for a source label, "source:<name>"; for a judge's, "judge:<name>"
    value: dict[str, Any]  # canonical order
    seconds_spent: float | None  # None unless the selection reads the audit trail, as given_at
    given_at: datetime.datetime | str | None  # as fetched: read `created_at`

    @property
    def created_at(self) -> datetime.datetime:
        assert self.given_at is not None, "read with Selection(audit_trail=True)"
        return _moment(self.given_at)


class ItemFacts(NamedTuple):
    id: int
    kind: str
    # As fetched, and None unless the selection reads the audit trail: read `created_at`.
    built_at: datetime.datetime | str | None
    prompt: PromptFacts
    candidates: tuple[CandidateFacts, ...]  # canonical order: index 0 is "a"
    labels: tuple[LabelFacts, ...]
    adjudication: dict[str, Any] | None  # a reviewer's final label (canonical): the item's consensus

    @property
    def created_at(self) -> datetime.datetime:
        assert self.built_at is not None, "read with Selection(audit_trail=True)"
        return _moment(self.built_at)


class Record(NamedTuple):
    """An item with its labels aggregated by its kind's rule."""

    campaign: str
    item: ItemFacts
    # The kind's aggregate, e.g. pairwise.PairwiseAggregate: of the reviewer's final label alone where the
    # item is adjudicated (`item.adjudication`), else of the labels.
    aggregate: Any
    outcome: str  # what the labels concluded, in a word, for the dataset card ("a", "tie", "split"...)
    agreement: float  # fraction of the labels agreeing with their majority (adjudicated or not)


def _moment(value: datetime.datetime | str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


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
