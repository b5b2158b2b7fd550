"""Set-wise diversity: N samples of one prompt from one generator with one sampling setting, judged together.

A reward model scoring one completion at a time cannot see mode collapse; a judgement over a set can. The
labeller rates how diverse the set is (1 all the same ... 5 all different), marks near-duplicates ("C is
the same as A"), and may pick the best and the worst sample. Identical samples are allowed in a set: they
are exactly what the labeller is asked to spot.

A submitted value names shown positions ("A", "B", ...); it is stored with canonical indices:
`{"diversity": 3, "duplicates": [[0, 2]], "best": 1, "worst": 3}`, where `duplicates` lists groups of two
or more indices, each sorted, the groups sorted by their first index, and `best` / `worst` may be None.

Aggregation: the mean rating; a pair of samples is a duplicate when more than half of the labellers put it
in one group, and pairs sharing a sample are merged into one group; best and worst by plurality (None when
tied or never given). `agreement` is the share of labels whose rating is within 1 of the median rating
(the lower median for an even count). A gold item is answered right when the rating is within 1 of the
gold rating and, if the gold value names a best sample, the best matches.
"""

import random
import statistics
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from labelapp.errors import ApplicationError
from labelapp.kinds.base import (
    POSITION_NAMES,
    AgreementField,
    BuildOptions,
    ItemShape,
    choice_field,
    fields_check,
    majority,
    position_field,
    shuffled,
)
from labelapp.models import Candidate, CandidateStep

NAME = "setwise"
TEMPLATE = "labelapp/kinds/setwise.html"
CANDIDATE_COUNTS = range(2, 11)
DEFAULT_PER_ITEM = 4
ALLOWS_IDENTICAL_TEXTS = True  # identical samples are mode collapse, the thing this kind measures
HIDES_REFERENCE_ANSWER = False

DIVERSITY = (1, 2, 3, 4, 5)
GOLD_DIVERSITY_TOLERANCE = 1
AGREEMENT_FIELDS = (
    AgreementField("diversity", "ordinal", DIVERSITY),
    AgreementField("best", "nominal", tuple(range(len(POSITION_NAMES)))),
)
VALUE_HELP = (
    '{"diversity": 1-5, "duplicates": [["A", "C"], ...] (optional: groups of near-identical samples), '
    '"best": "A" (optional), "worst": "B" (optional)}; A, B, ... are the positions as shown.'
)


def value_from_form(data: Mapping[str, Any]) -> dict[str, Any]:
    """Each "same-C" = "A" radio says that C is the same as A; linked pairs become one duplicate group."""
    pairs = [
        (key.removeprefix("same-"), other) for key, other in data.items() if key.startswith("same-") and other
    ]
    return {
        "diversity": data.get("diversity", ""),
        "duplicates": [sorted(group) for group in groups_from_pairs(pairs)],
        "best": data.get("best", ""),
        "worst": data.get("worst", ""),
    }


def label_validate(value: Any, *, shape: ItemShape) -> dict[str, Any]:
    """Check a value as submitted (shown positions) and return it with position numbers."""
    value = fields_check(value, ("diversity", "duplicates", "best", "worst"))
    best = position_field(value, "best", shape, required=False)
    worst = position_field(value, "worst", shape, required=False)
    if best is not None and best == worst:
        raise ApplicationError(
            "Field 'worst' must name a different sample than 'best'.",
            {
                "field": "worst",
                "allowed": [n for n in POSITION_NAMES[: shape.candidate_count] if n != value["best"]],
            },
        )
    return {
        "diversity": int(choice_field(value, "diversity", DIVERSITY)),
        "duplicates": _duplicates_validate(value.get("duplicates"), shape),
        "best": best,
        "worst": worst,
    }


def _duplicates_validate(groups: Any, shape: ItemShape) -> list[list[int]]:
    if groups in (None, ""):
        return []
    names = POSITION_NAMES[: shape.candidate_count]
    error = ApplicationError(
        "Field 'duplicates' must be a list of groups, each of two or more different positions among "
        f"{', '.join(names)}, no position in two groups.",
        {"field": "duplicates", "allowed": list(names)},
    )
    if not isinstance(groups, list):
        raise error
    seen: set[str] = set()
    cleaned = []
    for group in groups:
        if (
            not isinstance(group, list)
            or len(group) < 2
            or not all(isinstance(name, str) and name in names for name in group)
            or len(set(group)) < len(group)
            or seen.intersection(group)
        ):
            raise error
        seen.update(group)
        cleaned.append(sorted(names.index(name) for name in group))
    return sorted(cleaned)


def label_to_canonical(value: Mapping[str, Any], shown_indices: Sequence[int]) -> dict[str, Any]:
    """`shown_indices[position]` is the canonical index of the sample shown at that position."""

    def canonical(position: int | None) -> int | None:
        return None if position is None else shown_indices[position]

    return {
        "diversity": value["diversity"],
        "duplicates": sorted(sorted(shown_indices[p] for p in group) for group in value["duplicates"]),
        "best": canonical(value["best"]),
        "worst": canonical(value["worst"]),
    }


def gold_matches(value: Mapping[str, Any], gold_value: Mapping[str, Any] | None) -> bool:
    """Right when the rating is within 1 of the gold rating, and the best matches where gold names one."""
    if gold_value is None or abs(value["diversity"] - gold_value["diversity"]) > GOLD_DIVERSITY_TOLERANCE:
        return False
    return gold_value.get("best") is None or value.get("best") == gold_value["best"]


@dataclass(frozen=True)
class SetwiseAggregate:
    diversity_mean: float | None  # None without labels
    diversity_median: int | None  # the lower median: a rating some labeller gave
    duplicates: list[list[int]]  # canonical groups, as in a label
    best: int | None  # plurality; None when tied or never given
    worst: int | None
    agreement: float  # share of ratings within 1 of the median
    label_count: int


def aggregate(values: Sequence[Mapping[str, Any]]) -> SetwiseAggregate:
    ratings = [v["diversity"] for v in values]
    median = statistics.median_low(ratings) if ratings else None
    near_median = sum(
        1 for r in ratings if median is not None and abs(r - median) <= GOLD_DIVERSITY_TOLERANCE
    )
    return SetwiseAggregate(
        diversity_mean=statistics.fmean(ratings) if ratings else None,
        diversity_median=median,
        duplicates=_majority_duplicates(values),
        best=majority([v["best"] for v in values if v.get("best") is not None])[0],
        worst=majority([v["worst"] for v in values if v.get("worst") is not None])[0],
        agreement=near_median / len(ratings) if ratings else 0.0,
        label_count=len(values),
    )


def _majority_duplicates(values: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """Pairs that more than half of the labellers grouped together, merged where they share a sample."""
    votes = Counter(
        pair for v in values for group in v["duplicates"] for pair in combinations(sorted(group), 2)
    )
    kept = [pair for pair, count in votes.items() if count * 2 > len(values)]
    return sorted(sorted(group) for group in groups_from_pairs(kept))


def groups_from_pairs(pairs: Iterable[tuple[Hashable, Hashable]]) -> list[set[Any]]:
    """The connected groups of "same as" pairs: A~B and B~C make one group {A, B, C}."""
    groups: list[set[Any]] = []
    for first, second in pairs:
        touching = [g for g in groups if first in g or second in g]
        merged = {first, second}.union(*touching)
        groups = [g for g in groups if g not in touching] + [merged]
    return groups


def gold_value_from(consensus: SetwiseAggregate) -> dict[str, Any] | None:
    """The median rating and the plurality best, when most ratings lie within 1 of that median."""
    if consensus.diversity_median is None or consensus.agreement <= 0.5:
        return None
    return {"diversity": consensus.diversity_median, "best": consensus.best}


def options_check(options: BuildOptions) -> None:
    """Nothing beyond the shared checks: any generators, each giving sets of its own samples."""


def sample_sets(
    candidates: Sequence[Candidate], size: int
) -> dict[tuple[str, str], list[tuple[Candidate, ...]]]:
    """One prompt's samples in sets of `size`, keyed by (generator name, step).

    A set holds samples of one generator with one sampling setting (params_key) and one step (answers, or
    revisions); critiques are left out. Each setting's samples are cut in creation order into consecutive
    sets, so samples added later never change the sets already built; a remainder smaller than `size`
    makes no set.
    """
    by_setting: dict[tuple[str, str, str], list[Candidate]] = {}
    for candidate in candidates:
        if candidate.step != CandidateStep.CRITIQUE:
            key = (candidate.generator.name, candidate.step, candidate.params_key)
            by_setting.setdefault(key, []).append(candidate)
    sets: dict[tuple[str, str], list[tuple[Candidate, ...]]] = {}
    for (generator, step, _), samples in by_setting.items():
        sets.setdefault((generator, step), []).extend(
            tuple(samples[start : start + size]) for start in range(0, len(samples) - size + 1, size)
        )
    return sets


def candidate_groups(
    candidates: Sequence[Candidate], *, options: BuildOptions, rng: random.Random
) -> Iterator[tuple[Candidate, ...]]:
    for sets in sample_sets(candidates, options.per_item or DEFAULT_PER_ITEM).values():
        yield from sets


def shuffled_positions(count: int, rng: random.Random) -> list[int]:
    return shuffled(count, rng)
