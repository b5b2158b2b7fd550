"""Pairwise comparison: which of two responses is better, how much, and why.

Labellers see the candidates at randomised positions "A" (left) and "B" (right). A submitted value names
shown positions; it is stored in canonical order, where "a" is the candidate with index 0.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labelapp.errors import ApplicationError

NAME = "pairwise"
CANDIDATES_PER_ITEM = 2
TEMPLATE = "labelapp/kinds/pairwise.html"

CHOICES = ("a", "b", "tie", "both_bad")
STRENGTHS = ("slight", "clear", "strong")
RATIONALE_MAX_CHARS = 5000
POSITION_NAMES = ("A", "B")


def label_validate(value: Mapping[str, Any]) -> dict[str, Any]:
    """Check a value as submitted (shown positions) and return it cleaned; raise naming the bad field."""
    if not isinstance(value, Mapping):
        raise ApplicationError("The label value must be an object with 'choice'.", {"field": "value"})
    unknown = set(value) - {"choice", "strength", "rationale"}
    if unknown:
        raise ApplicationError(
            f"Unknown field(s) {', '.join(sorted(unknown))}; allowed: choice, strength, rationale.",
            {"field": sorted(unknown)[0]},
        )
    choice = str(value.get("choice") or "").lower()
    if choice not in CHOICES:
        raise ApplicationError(
            f"Field 'choice' must be one of {', '.join(CHOICES)}.",
            {"field": "choice", "allowed": list(CHOICES)},
        )
    strength = value.get("strength") or None
    if strength is not None and (choice not in {"a", "b"} or strength not in STRENGTHS):
        allowed = list(STRENGTHS) if choice in {"a", "b"} else []
        raise ApplicationError(
            f"Field 'strength' must be empty or one of {', '.join(STRENGTHS)}, and only with choice a or b.",
            {"field": "strength", "allowed": allowed},
        )
    rationale = str(value.get("rationale") or "").strip()
    if len(rationale) > RATIONALE_MAX_CHARS:
        raise ApplicationError(
            f"Field 'rationale' is longer than {RATIONALE_MAX_CHARS} characters.", {"field": "rationale"}
        )
    return {"choice": choice, "strength": strength, "rationale": rationale}


def value_from_form(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: data.get(key, "") for key in ("choice", "strength", "rationale")}


def label_to_canonical(value: Mapping[str, Any], shown_indices: Sequence[int]) -> dict[str, Any]:
    """`shown_indices[position]` is the canonical index of the candidate shown at that position."""
    choice = value["choice"]
    if choice in {"a", "b"}:
        choice = "ab"[shown_indices["ab".index(choice)]]
    return {**value, "choice": choice}


def gold_matches(value: Mapping[str, Any], gold_value: Mapping[str, Any] | None) -> bool:
    """A gold item is answered right when the choice matches; strength and rationale are not scored."""
    return gold_value is not None and value["choice"] == gold_value.get("choice")


@dataclass(frozen=True)
class PairwiseAggregate:
    choice: str | None  # None when labellers split evenly between the top choices
    strength: str | None
    agreement: float  # fraction of labels agreeing with `choice`
    label_count: int


def aggregate(values: Sequence[Mapping[str, Any]]) -> PairwiseAggregate:
    """Majority choice over canonical values; the strength most often given with that choice."""
    counts = Counter(v["choice"] for v in values).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        top_count = counts[0][1] if counts else 0
        return PairwiseAggregate(None, None, top_count / len(values) if values else 0.0, len(values))
    choice, top_count = counts[0]
    strengths = Counter(v.get("strength") for v in values if v["choice"] == choice and v.get("strength"))
    strength = strengths.most_common(1)[0][0] if strengths else None
    return PairwiseAggregate(choice, strength, top_count / len(values), len(values))
