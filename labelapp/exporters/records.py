"""The records every format reads, and which of them an export selects.

A record is an item with its candidates, its kept labels and their aggregate by the item's task kind.
They are read from the database by `labelapp.selectors.records`, which makes millions per export: they
are tuples, the cheapest Python objects, and nothing downstream may change them.
"""

import datetime
from dataclasses import dataclass
from typing import Any, NamedTuple

from labelapp.kinds import coherence, correctness, pairwise, ranking, set_vs_set, setwise


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
    items: ItemRange = ItemRange()
    # Read each label's time spent and timestamp, and each item's: the raw format's audit trail. Other
    # formats never show them, and on PostgreSQL the timestamps cost more to read than the label values.
    audit_trail: bool = False
    read_ahead: bool = True  # read each next chunk in a second thread when it can


class PromptFacts(NamedTuple):
    id: int
    text: str
    messages: list[dict[str, str]] | None
    key: str  # hash of the content: prompts with equal content fall in the same split

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
    labeller_id: int
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
    built_at: (
        datetime.datetime | str | None
    )  # as fetched, and None unless the selection reads the audit trail
    prompt: PromptFacts
    candidates: tuple[CandidateFacts, ...]  # canonical order: index 0 is "a"
    labels: tuple[LabelFacts, ...]

    @property
    def created_at(self) -> datetime.datetime:
        assert self.built_at is not None, "read with Selection(audit_trail=True)"
        return _moment(self.built_at)


class Record(NamedTuple):
    """An item with its labels aggregated by its kind's rule."""

    campaign: str
    item: ItemFacts
    aggregate: Any  # the kind's aggregate, e.g. pairwise.PairwiseAggregate
    outcome: str  # what the labels concluded, in a word, for the dataset card ("a", "tie", "split"...)
    agreement: float  # fraction of labels agreeing with the aggregate


def _moment(value: datetime.datetime | str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


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
