"""Pairwise comparison: which of two responses is better, how much, why, and optionally per criterion.

Labellers see the candidates at randomised positions "A" (left) and "B" (right). A submitted value names
shown positions; it is stored in canonical order, where "a" is the candidate with index 0. A campaign may
list criteria (e.g. helpfulness, honesty, harmlessness): each gets its own A / B / tie choice beside the
overall one. In a campaign that continues conversations the labeller may also write the user's next message
(`next_message`), which the conversation goes on with from the reply they preferred
(labelapp/services/continuations.py). The labeller may state how sure they are (`confidence`: certain, probably
or guessing, as on correctness labels), which the labeller-calibration report checks against gold items.
"""

import itertools
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from labelapp.errors import ApplicationError
from labelapp.kinds.base import (
    CONFIDENCES,
    AgreementField,
    BuildOptions,
    ItemShape,
    best_of_n_selected,
    choice_field,
    fields_check,
    majority,
    shuffled,
    text_field,
)
from labelapp.models import Candidate, CandidateStep

NAME = "pairwise"
TEMPLATE = "labelapp/kinds/pairwise.html"
POSITION_NAMES = ("A", "B")
CANDIDATE_COUNTS = range(2, 3)
ALLOWS_IDENTICAL_TEXTS = False  # nobody can prefer one of two identical texts
HIDES_REFERENCE_ANSWER = False

FIELDS = ("choice", "strength", "rationale", "criteria", "confidence")
CHOICES = ("a", "b", "tie", "both_bad")
STRENGTHS = ("slight", "clear", "strong")
CRITERION_CHOICES = ("a", "b", "tie")
AGREEMENT_FIELDS = (
    AgreementField("choice", "nominal", CHOICES),
    AgreementField("strength", "ordinal", STRENGTHS),
)
RATIONALE_MAX_CHARS = 5000
NEXT_MESSAGE_MAX_CHARS = 5000
VALUE_HELP = (
    '{"choice": "a|b|tie|both_bad", "strength": "slight|clear|strong" (optional, with a or b), '
    '"rationale": text (optional), "criteria": {criterion: "a|b|tie"} (when the campaign lists criteria), '
    '"confidence": "certain|probably|guessing" (optional), '
    '"next_message": the user\'s next message (optional, when the campaign continues conversations)}; '
    "a and b are the positions as shown."
)


class Pairing(StrEnum):
    WITHIN_PROMPT = "within-prompt"  # every pair of a prompt's answers (revisions count as answers)
    ANSWER_VS_REVISION = "answer-vs-revision"  # each self-critique answer against its own revision
    CROSS_GENERATOR = "cross-generator"  # pairs of answers by different generators only
    # each best-of-N selected answer against each single sample of its generator (no best-of-N sample)
    BEST_OF_N_VS_SAMPLE = "best-of-n-vs-sample"


def value_from_form(data: Mapping[str, Any]) -> dict[str, Any]:
    value = {key: data.get(key, "") for key in ("choice", "strength", "rationale", "confidence")}
    if "next_message" in data:
        value["next_message"] = data["next_message"]
    criteria = {key.removeprefix("criterion-"): v for key, v in data.items() if key.startswith("criterion-")}
    return value | ({"criteria": criteria} if criteria else {})


def label_validate(value: Any, *, shape: ItemShape) -> dict[str, Any]:
    """Check a value as submitted (shown positions) and return it cleaned; raise naming the bad field."""
    value = fields_check(value, FIELDS + (("next_message",) if shape.continues else ()))
    choice = choice_field({"choice": str(value.get("choice") or "").lower()}, "choice", CHOICES)
    strength = value.get("strength") or None
    if strength is not None and (choice not in {"a", "b"} or strength not in STRENGTHS):
        allowed = list(STRENGTHS) if choice in {"a", "b"} else []
        raise ApplicationError(
            f"Field 'strength' must be empty or one of {', '.join(STRENGTHS)}, and only with choice a or b.",
            {"field": "strength", "allowed": allowed},
        )
    cleaned = {
        "choice": choice,
        "strength": strength,
        "rationale": text_field(value, "rationale", RATIONALE_MAX_CHARS),
    }
    confidence = choice_field(value, "confidence", CONFIDENCES, required=False)
    if confidence is not None:  # stored only when stated, as labels from before it was asked
        cleaned["confidence"] = confidence
    if shape.continues:
        cleaned["next_message"] = text_field(value, "next_message", NEXT_MESSAGE_MAX_CHARS)
    if shape.criteria:
        cleaned["criteria"] = _criteria_validate(value.get("criteria"), shape.criteria)
    elif value.get("criteria") not in (None, {}):
        raise ApplicationError(
            "Field 'criteria' must be empty: this campaign lists no criteria.",
            {"field": "criteria", "allowed": []},
        )
    return cleaned


def _criteria_validate(criteria: Any, names: Sequence[str]) -> dict[str, str]:
    if not isinstance(criteria, Mapping) or set(criteria) != set(names):
        raise ApplicationError(
            f"Field 'criteria' must give a choice for each of {', '.join(names)}.",
            {"field": "criteria", "allowed": list(names)},
        )
    return {
        name: choice_field({f"criteria.{name}": criteria[name]}, f"criteria.{name}", CRITERION_CHOICES)
        for name in names
    }


def label_to_canonical(value: Mapping[str, Any], shown_indices: Sequence[int]) -> dict[str, Any]:
    """`shown_indices[position]` is the canonical index of the candidate shown at that position."""

    def canonical(choice: str) -> str:
        return "ab"[shown_indices["ab".index(choice)]] if choice in {"a", "b"} else choice

    result = {**value, "choice": canonical(value["choice"])}
    if "criteria" in value:
        result["criteria"] = {name: canonical(c) for name, c in value["criteria"].items()}
    return result


def gold_matches(value: Mapping[str, Any], gold_value: Mapping[str, Any] | None) -> bool:
    """A gold item is answered right when the overall choice matches; the rest is not scored."""
    return gold_value is not None and value["choice"] == gold_value.get("choice")


@dataclass(frozen=True)
class PairwiseAggregate:
    choice: str | None  # None when labellers split evenly between the top choices
    strength: str | None
    agreement: float  # fraction of labels agreeing with `choice`
    label_count: int
    criteria: Mapping[str, str | None]  # majority per criterion, None where split


def aggregate(values: Sequence[Mapping[str, Any]]) -> PairwiseAggregate:
    """Majority choice over canonical values; the strength most often given with that choice."""
    choice, top_count = majority([v["choice"] for v in values])
    strengths = Counter(v.get("strength") for v in values if v["choice"] == choice and v.get("strength"))
    names = sorted({name for v in values for name in v.get("criteria") or {}})
    criteria = {
        name: majority([v["criteria"][name] for v in values if name in (v.get("criteria") or {})])[0]
        for name in names
    }
    return PairwiseAggregate(
        choice=choice,
        strength=strengths.most_common(1)[0][0] if strengths and choice else None,
        agreement=top_count / len(values) if values else 0.0,
        label_count=len(values),
        criteria=criteria,
    )


def gold_value_from(consensus: PairwiseAggregate) -> dict[str, Any] | None:
    return None if consensus.choice is None else {"choice": consensus.choice}


def options_check(options: BuildOptions) -> None:
    if options.pairing not in {p.value for p in Pairing}:
        allowed = ", ".join(Pairing)
        raise ApplicationError(
            f"Unknown pairing '{options.pairing}'. Allowed: {allowed}.", {"field": "pairing"}
        )


def candidate_groups(
    candidates: Sequence[Candidate], *, options: BuildOptions, rng: random.Random
) -> Iterator[tuple[Candidate, ...]]:
    """Pairs of one prompt's candidates: every pair of its answers, only those of different generators,
    each answer with its revision, or each best-of-N selected answer with each single sample of its
    generator."""
    if options.pairing == Pairing.BEST_OF_N_VS_SAMPLE:
        yield from _best_of_n_vs_sample(candidates)
    elif options.pairing == Pairing.ANSWER_VS_REVISION:
        by_id = {candidate.pk: candidate for candidate in candidates}
        for revision in candidates:
            if revision.step == CandidateStep.REVISION:
                critique = by_id[cast(int, revision.parent_id)]  # a revision always has its critique
                answer = by_id[cast(int, critique.parent_id)]  # and the critique its answer
                yield (answer, revision)
    else:
        answers = [c for c in candidates if c.step != CandidateStep.CRITIQUE]
        pairs: Iterator[tuple[Candidate, ...]] = itertools.combinations(answers, 2)
        if options.pairing == Pairing.CROSS_GENERATOR:
            pairs = (pair for pair in pairs if pair[0].generator_id != pair[1].generator_id)
        yield from pairs


def _best_of_n_vs_sample(candidates: Sequence[Candidate]) -> Iterator[tuple[Candidate, ...]]:
    """A single sample is an answer sampled on its own: the other samples of a best-of-N job were seen by
    the selection and lost, so they are no fair baseline."""
    answers = [c for c in candidates if c.step == CandidateStep.ANSWER]
    singles = [c for c in answers if c.selection is None]
    for best in answers:
        if best_of_n_selected(best):
            yield from ((best, single) for single in singles if single.generator_id == best.generator_id)


def shuffled_positions(count: int, rng: random.Random) -> list[int]:
    return shuffled(count, rng)
