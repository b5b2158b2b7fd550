"""Correctness: is this one answer to the prompt correct, how sure is the labeller, and what is wrong.

The labeller sees the prompt (with its reference answer where the campaign shows it) and one answer, and
gives a verdict (correct / incorrect / can't tell), how sure they are (with correct or incorrect), an
optional error category from the campaign's list (or the defaults), and an optional critique.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labelapp.errors import ApplicationError
from labelapp.kinds import verdict
from labelapp.kinds.base import (
    CONFIDENCES,
    AgreementField,
    ItemShape,
    choice_field,
    fields_check,
    majority,
    text_field,
)

NAME = "correctness"
TEMPLATE = "labelapp/kinds/correctness.html"
POSITION_NAMES = verdict.POSITION_NAMES
CANDIDATE_COUNTS = verdict.CANDIDATE_COUNTS
ALLOWS_IDENTICAL_TEXTS = verdict.ALLOWS_IDENTICAL_TEXTS
HIDES_REFERENCE_ANSWER = False

VERDICTS = ("correct", "incorrect", "cant_tell")
DEFAULT_ERROR_CATEGORIES = ("factual error", "reasoning error", "incomplete", "off-topic", "other")
AGREEMENT_FIELDS = (
    AgreementField("verdict", "nominal", VERDICTS),
    AgreementField("confidence", "ordinal", CONFIDENCES),
)
CRITIQUE_MAX_CHARS = 5000
VALUE_HELP = (
    '{"verdict": "correct|incorrect|cant_tell", "confidence": "certain|probably|guessing" (with correct '
    'or incorrect, not with cant_tell), "error_category": one of the campaign\'s error categories '
    '(optional, not with correct), "critique": text (optional)}.'
)

FIELDS = ("verdict", "confidence", "error_category", "critique")


def error_categories(shape_categories: Sequence[str]) -> tuple[str, ...]:
    """The campaign's error categories, or the defaults when it lists none."""
    return tuple(shape_categories) or DEFAULT_ERROR_CATEGORIES


def value_from_form(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: data.get(key, "") for key in FIELDS}


def label_validate(value: Any, *, shape: ItemShape) -> dict[str, Any]:
    """Check a submitted value and return it cleaned; raise naming the bad field and the allowed values."""
    value = fields_check(value, FIELDS)
    given = choice_field({"verdict": str(value.get("verdict") or "").lower()}, "verdict", VERDICTS)
    judged = given != "cant_tell"
    confidence = value.get("confidence") or None
    if judged:
        confidence = choice_field(value, "confidence", CONFIDENCES)
    elif confidence is not None:
        raise ApplicationError(
            "Field 'confidence' must be empty with verdict cant_tell.", {"field": "confidence", "allowed": []}
        )
    categories = error_categories(shape.error_categories)
    category = choice_field(value, "error_category", categories, required=False)
    if category is not None and given == "correct":
        raise ApplicationError(
            "Field 'error_category' must be empty with verdict correct.",
            {"field": "error_category", "allowed": []},
        )
    return {
        "verdict": given,
        "confidence": confidence,
        "error_category": category,
        "critique": text_field(value, "critique", CRITIQUE_MAX_CHARS),
    }


label_to_canonical = verdict.label_to_canonical
gold_matches = verdict.gold_matches


@dataclass(frozen=True)
class CorrectnessAggregate:
    verdict: str | None  # None when labellers split evenly between the top verdicts
    confidence: str | None  # the confidence most often given with the majority verdict; None if tied
    agreement: float  # share of labels giving the most given verdict
    label_count: int
    error_categories: Mapping[str, int]  # how many labels named each category, most named first


def aggregate(values: Sequence[Mapping[str, Any]]) -> CorrectnessAggregate:
    given, agreement = verdict.majority_verdict(values)
    confidences = [v["confidence"] for v in values if v["verdict"] == given and v.get("confidence")]
    return CorrectnessAggregate(
        verdict=given,
        confidence=majority(confidences)[0] if given is not None else None,
        agreement=agreement,
        label_count=len(values),
        error_categories=verdict.counts(v["error_category"] for v in values if v.get("error_category")),
    )


gold_value_from = verdict.gold_value_from
options_check = verdict.options_check
candidate_groups = verdict.candidate_groups
shuffled_positions = verdict.shuffled_positions
