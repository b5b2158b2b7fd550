"""Set vs set: k samples of one prompt from generator X beside k from generator Y (k = 3 by default).

Built with exactly two generators, `--generator X --generator Y`, in that order; a side may be one
generator's samples at one temperature (`--generator model@0.3 --generator model@1.0`). Canonical indices
0..k-1 are X's set and k..2k-1 are Y's. Each set is shown together, one on the left and one on the right,
the side chosen at random per item and the order within a side random too. Shown positions are numbered
0..4 on the left and 5..9 on the right and named L1..L5 / R1..R5, so a position's name says its side.

The labeller answers which set they would rather pick an answer from, and which set is more diverse:
left / right / tie each. Stored canonical: `{"preferred": "x"|"y"|"tie", "more_diverse": "x"|"y"|"tie"}`.
A value given in canonical order (a gold value for `item_set_gold`) says "left" for X. Aggregation is by
majority per field (None when split); `agreement` is the share of labels agreeing with the preferred set.
A gold item is answered right when the preferred set matches.
"""

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labelapp.errors import ApplicationError
from labelapp.kinds.base import (
    AgreementField,
    BuildOptions,
    GeneratorChoice,
    ItemShape,
    choice_field,
    fields_check,
    majority,
    shuffled,
)
from labelapp.kinds.setwise import sample_sets
from labelapp.models import Candidate

NAME = "set-vs-set"
TEMPLATE = "labelapp/kinds/set_vs_set.html"
SIDE_SLOTS = 5
POSITION_NAMES = tuple(f"{side}{n}" for side in "LR" for n in range(1, SIDE_SLOTS + 1))
CANDIDATE_COUNTS = range(2, SIDE_SLOTS + 1)  # samples per side: `per_item` counts one set
DEFAULT_PER_SIDE = 3
ALLOWS_IDENTICAL_TEXTS = True  # identical samples within a set are the collapse being judged
HIDES_REFERENCE_ANSWER = False

FIELDS = ("preferred", "more_diverse")
SIDES = ("left", "right", "tie")
CANONICAL = ("x", "y", "tie")
AGREEMENT_FIELDS = tuple(AgreementField(key, "nominal", CANONICAL) for key in FIELDS)
VALUE_HELP = (
    '{"preferred": "left|right|tie", "more_diverse": "left|right|tie"}: the set you would rather pick an '
    "answer from, and the more diverse set, by the side shown (positions L1.. left, R1.. right)."
)


def value_from_form(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: data.get(key, "") for key in FIELDS}


def label_validate(value: Any, *, shape: ItemShape) -> dict[str, Any]:
    value = fields_check(value, FIELDS)
    return {key: choice_field({key: str(value.get(key) or "").lower()}, key, SIDES) for key in FIELDS}


def label_to_canonical(value: Mapping[str, Any], shown_indices: Sequence[int]) -> dict[str, Any]:
    """X is on the left when the first sample shown is one of X's (canonical index below k)."""
    x_on_left = shown_indices[0] < len(shown_indices) // 2
    sides = {"left": "x", "right": "y"} if x_on_left else {"left": "y", "right": "x"}
    return {key: sides.get(value[key], value[key]) for key in FIELDS}


def gold_matches(value: Mapping[str, Any], gold_value: Mapping[str, Any] | None) -> bool:
    return gold_value is not None and value["preferred"] == gold_value.get("preferred")


@dataclass(frozen=True)
class SetVsSetAggregate:
    preferred: str | None  # "x", "y" or "tie"; None when labellers split evenly
    more_diverse: str | None
    agreement: float  # share of labels agreeing with `preferred`
    label_count: int


def aggregate(values: Sequence[Mapping[str, Any]]) -> SetVsSetAggregate:
    preferred, top_count = majority([v["preferred"] for v in values])
    return SetVsSetAggregate(
        preferred=preferred,
        more_diverse=majority([v["more_diverse"] for v in values])[0],
        agreement=top_count / len(values) if values else 0.0,
        label_count=len(values),
    )


def gold_value_from(consensus: SetVsSetAggregate) -> dict[str, Any] | None:
    return None if consensus.preferred is None else {"preferred": consensus.preferred}


def options_check(options: BuildOptions) -> None:
    sides = [GeneratorChoice.parse(text) for text in options.generators]
    if len(sides) != 2 or sides[0] == sides[1]:
        given = ", ".join(options.generators) or "none"
        raise ApplicationError(
            f"Field 'generators': set-vs-set needs exactly two different generators "
            f"(--generator X --generator Y), not {given}.",
            {"field": "generators"},
        )


def candidate_groups(
    candidates: Sequence[Candidate], *, options: BuildOptions, rng: random.Random
) -> Iterator[tuple[Candidate, ...]]:
    """X's sets paired in order with Y's sets of the same step (answers with answers, revisions with revisions).
    A side is a generator, or a generator at one temperature ("model@0.3"): one model at two temperatures."""
    x, y = (GeneratorChoice.parse(text) for text in options.generators)
    size = options.per_item or DEFAULT_PER_SIDE
    x_sets = sample_sets([c for c in candidates if x.matches(c)], size)
    y_sets = sample_sets([c for c in candidates if y.matches(c)], size)
    for (_, step), sets in x_sets.items():
        for x_set, y_set in zip(sets, y_sets.get((y.name, step), []), strict=False):
            yield x_set + y_set


def shuffled_positions(count: int, rng: random.Random) -> list[int]:
    """X's samples (the first half) on one side and Y's on the other, each side in random order."""
    per_side = count // 2
    x_start, y_start = rng.sample((0, SIDE_SLOTS), 2)
    return [x_start + p for p in shuffled(per_side, rng)] + [y_start + p for p in shuffled(per_side, rng)]
