"""What the kinds that give one candidate a verdict share: correctness and coherence.

An item holds one answer of a prompt, shown alone, so there is nothing to shuffle or un-shuffle. Its
label's `verdict` is what gold items score, what "mark gold" takes from the consensus, and what
aggregation takes the majority of.
"""

import random
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from labelapp.kinds.base import BuildOptions, majority
from labelapp.models import Candidate, CandidateStep

POSITION_NAMES = ("A",)
CANDIDATE_COUNTS = range(1, 2)
ALLOWS_IDENTICAL_TEXTS = True  # one candidate per item: nothing to compare it with


def options_check(options: BuildOptions) -> None:
    """Every option that applies (generators, max per prompt) is checked by the generic build."""


def candidate_groups(
    candidates: Sequence[Candidate], *, options: BuildOptions, rng: random.Random
) -> Iterator[tuple[Candidate, ...]]:
    """Each answer alone (revisions are answers too); critiques are not answers to the prompt."""
    for candidate in candidates:
        if candidate.step != CandidateStep.CRITIQUE:
            yield (candidate,)


def shuffled_positions(count: int, rng: random.Random) -> list[int]:
    return list(range(count))


def label_to_canonical(value: Mapping[str, Any], shown_indices: Sequence[int]) -> dict[str, Any]:
    return dict(value)


def gold_matches(value: Mapping[str, Any], gold_value: Mapping[str, Any] | None) -> bool:
    """A gold item is answered right when the verdict matches; the rest of the label is not scored."""
    return gold_value is not None and value["verdict"] == gold_value.get("verdict")


class VerdictAggregate(Protocol):
    @property
    def verdict(self) -> str | None: ...


def gold_value_from(consensus: VerdictAggregate) -> dict[str, Any] | None:
    return None if consensus.verdict is None else {"verdict": consensus.verdict}


def majority_verdict(values: Sequence[Mapping[str, Any]]) -> tuple[str | None, float]:
    """The majority verdict (None when the top two are tied) and the share of labels giving the most
    given verdict (0.5 for a 1-1 split, as pairwise agreement)."""
    verdict, count = majority([v["verdict"] for v in values])
    return verdict, (count / len(values) if values else 0.0)


def counts(values: Iterable[str]) -> dict[str, int]:
    """How many labels named each value, most named first."""
    return dict(Counter(values).most_common())
