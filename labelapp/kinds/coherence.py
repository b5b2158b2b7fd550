"""Coherence: is this one answer coherent, and if not, what makes it incoherent.

The correctness screen for labellers who cannot judge the facts (they do not know the language or the
domain): the prompt's reference answer is never shown, whatever the campaign's setting. The labeller
says coherent or incoherent, ticks what makes an incoherent answer so (one reason or more), and may add
a note. A coherence campaign may build its items from a correctness campaign's candidates
(`build_items --source-campaign`), so both judgements of one candidate can be joined.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from labelapp.errors import ApplicationError
from labelapp.kinds import verdict
from labelapp.kinds.base import AgreementField, ItemShape, choice_field, fields_check, text_field

NAME = "coherence"
TEMPLATE = "labelapp/kinds/coherence.html"
POSITION_NAMES = verdict.POSITION_NAMES
CANDIDATE_COUNTS = verdict.CANDIDATE_COUNTS
ALLOWS_IDENTICAL_TEXTS = verdict.ALLOWS_IDENTICAL_TEXTS
HIDES_REFERENCE_ANSWER = True

VERDICTS = ("coherent", "incoherent")
REASONS = {
    "contradiction": "Contradicts itself",
    "not_an_answer": "Not an answer to the question",
    "wrong_tone": "Wrong tone",
    "gibberish": "Gibberish",
    "other": "Other",
}
AGREEMENT_FIELDS = (AgreementField("verdict", "nominal", VERDICTS),)
NOTE_MAX_CHARS = 5000
VALUE_HELP = (
    '{"verdict": "coherent|incoherent", "reasons": a list of one or more of '
    f"{'|'.join(REASONS)} (with incoherent, not with coherent), "
    '"note": text (optional)}.'
)


def value_from_form(data: QueryDict) -> dict[str, Any]:
    return {
        "verdict": data.get("verdict", ""),
        "reasons": data.getlist("reasons"),
        "note": data.get("note", ""),
    }


def label_validate(value: Any, *, shape: ItemShape) -> dict[str, Any]:
    """Check a submitted value and return it cleaned; raise naming the bad field and the allowed values."""
    value = fields_check(value, ("verdict", "reasons", "note"))
    given = choice_field({"verdict": str(value.get("verdict") or "").lower()}, "verdict", VERDICTS)
    return {
        "verdict": given,
        "reasons": _reasons_validate(value.get("reasons") or [], incoherent=given == "incoherent"),
        "note": text_field(value, "note", NOTE_MAX_CHARS),
    }


def _reasons_validate(reasons: Any, *, incoherent: bool) -> list[str]:
    allowed = list(REASONS)
    if (
        not isinstance(reasons, list)
        or any(not isinstance(reason, str) or reason not in REASONS for reason in reasons)
        or len(set(reasons)) != len(reasons)
    ):
        raise ApplicationError(
            f"Field 'reasons' must be a list of distinct values from {', '.join(allowed)}.",
            {"field": "reasons", "allowed": allowed},
        )
    if incoherent and not reasons:
        raise ApplicationError(
            f"Field 'reasons' must name what makes the answer incoherent: one or more of {', '.join(allowed)}.",
            {"field": "reasons", "allowed": allowed},
        )
    if not incoherent and reasons:
        raise ApplicationError(
            "Field 'reasons' must be empty with verdict coherent.", {"field": "reasons", "allowed": []}
        )
    return [reason for reason in REASONS if reason in reasons]  # one order, whatever order they came in


label_to_canonical = verdict.label_to_canonical
gold_matches = verdict.gold_matches


@dataclass(frozen=True)
class CoherenceAggregate:
    verdict: str | None  # None when labellers split evenly
    agreement: float  # share of labels giving the most given verdict
    label_count: int
    reasons: Mapping[str, int]  # how many labels named each reason, most named first


def aggregate(values: Sequence[Mapping[str, Any]]) -> CoherenceAggregate:
    given, agreement = verdict.majority_verdict(values)
    return CoherenceAggregate(
        verdict=given,
        agreement=agreement,
        label_count=len(values),
        reasons=verdict.counts(reason for v in values for reason in v.get("reasons") or ()),
    )


gold_value_from = verdict.gold_value_from
options_check = verdict.options_check
candidate_groups = verdict.candidate_groups
shuffled_positions = verdict.shuffled_positions
