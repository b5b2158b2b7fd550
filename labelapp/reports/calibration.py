"""Calibration: does a confidence (the model's own token probabilities, or a labeller's stated confidence)
match how often it turns out right?

The model is right when the labellers' majority calls its answer correct. A labeller is right when their
verdict matches the reference: the gold answer on gold items, else the majority of the item's other
labellers (so a labeller is never checked against their own label).

A reliability diagram sorts predictions into equal-width confidence bins and sets each bin's mean
confidence beside its correct rate; the expected calibration error is the gap between the two, averaged
over bins weighted by their size (Naeini et al. 2015; Guo et al. 2017). The model's confidence in a
candidate is exp(mean token logprob): the geometric mean of its tokens' probabilities.

Per labeller (the labeller-calibration report and the dashboard), only gold items count: their stated
confidence (correctness and pairwise labels) against whether they answered the gold item right.
"""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from labelapp.reports.proportions import Proportion, proportion

BINS = 10


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    mean_confidence: float | None  # None for an empty bin
    correct: Proportion  # correct rate with its Wilson interval


@dataclass(frozen=True)
class Reliability:
    bins: tuple[ReliabilityBin, ...]
    count: int
    ece: float | None  # None without predictions


def reliability(confidences: Sequence[float], outcomes: Sequence[bool], *, bins: int = BINS) -> Reliability:
    """Equal-width bins over [0, 1] (a confidence of exactly 1 goes in the last one) and the ECE."""
    if len(confidences) != len(outcomes):
        raise ValueError(f"Need one outcome per confidence, got {len(confidences)} and {len(outcomes)}.")
    bad = [c for c in confidences if not 0 <= c <= 1]
    if bad:
        raise ValueError(f"Confidences must lie in [0, 1], got {bad[0]!r}.")
    members: list[list[int]] = [[] for _ in range(bins)]
    for position, confidence in enumerate(confidences):
        members[min(int(confidence * bins), bins - 1)].append(position)
    rows, gap = [], 0.0
    for number, positions in enumerate(members):
        mean = statistics.fmean(confidences[p] for p in positions) if positions else None
        correct = sum(bool(outcomes[p]) for p in positions)
        if mean is not None:
            gap += len(positions) * abs(correct / len(positions) - mean)
        rows.append(
            ReliabilityBin(
                low=number / bins,
                high=(number + 1) / bins,
                count=len(positions),
                mean_confidence=mean,
                correct=proportion(correct, len(positions)),
            )
        )
    count = len(confidences)
    return Reliability(bins=tuple(rows), count=count, ece=gap / count if count else None)


@dataclass(frozen=True)
class CalibrationCandidate:
    """One correctness-labelled candidate: the model's mean token logprob and the humans' verdict."""

    generator: str
    logprob_mean: float | None  # None when the backend gave no logprobs
    correct: bool | None  # aggregated verdict; None for "can't tell" or no majority


# A labeller's stated confidence read as the probability that their verdict is right. A convention, not a
# measurement: "guessing" between two verdicts is a little better than a coin, "certain" is not infallible.
STATED_CONFIDENCE = {"certain": 0.95, "probably": 0.75, "guessing": 0.55}


@dataclass(frozen=True)
class StatedConfidence:
    """One label's verdict (correct or incorrect) with its stated confidence, checked against a reference:
    the item's gold answer, or else the majority of the other labellers of the item."""

    confidence: str  # certain, probably or guessing
    agrees: bool  # the label's verdict is the reference verdict
    against_gold: bool


@dataclass(frozen=True)
class ConfidenceLevel:
    confidence: str
    probability: float  # what the level is read as
    agrees: Proportion  # how often labels at this level matched the reference


@dataclass(frozen=True)
class GeneratorCalibration:
    generator: str
    model: Reliability  # exp(logprob_mean) against the verdict


@dataclass(frozen=True)
class CalibrationReport:
    model: Reliability  # every generator together
    by_generator: tuple[GeneratorCalibration, ...]
    labeller: Reliability  # labels' stated confidence against how often their verdict matched the reference
    labeller_levels: tuple[ConfidenceLevel, ...]  # most sure first
    candidates: int
    without_verdict: int  # candidates left out: no verdict (can't tell, split)
    without_logprobs: int  # candidates with a verdict left out of the model's diagram: no logprobs
    labels_against_gold: int
    labels_against_others: int


def calibration_report(
    candidates: Sequence[CalibrationCandidate], stated: Sequence[StatedConfidence], *, bins: int = BINS
) -> CalibrationReport:
    judged = [c for c in candidates if c.correct is not None]
    with_logprobs = [c for c in judged if c.logprob_mean is not None]

    def model_reliability(rows: Sequence[CalibrationCandidate]) -> Reliability:  # rows with logprobs
        return reliability(
            [min(1.0, math.exp(cast(float, c.logprob_mean))) for c in rows],
            [bool(c.correct) for c in rows],
            bins=bins,
        )

    return CalibrationReport(
        model=model_reliability(with_logprobs),
        by_generator=tuple(
            GeneratorCalibration(name, model_reliability([c for c in with_logprobs if c.generator == name]))
            for name in sorted({c.generator for c in with_logprobs})
        ),
        labeller=reliability(
            [STATED_CONFIDENCE[s.confidence] for s in stated], [s.agrees for s in stated], bins=bins
        ),
        labeller_levels=tuple(
            ConfidenceLevel(
                confidence=level,
                probability=probability,
                agrees=proportion(
                    sum(s.agrees for s in stated if s.confidence == level),
                    sum(s.confidence == level for s in stated),
                ),
            )
            for level, probability in STATED_CONFIDENCE.items()
        ),
        candidates=len(candidates),
        without_verdict=len(candidates) - len(judged),
        without_logprobs=len(judged) - len(with_logprobs),
        labels_against_gold=sum(s.against_gold for s in stated),
        labels_against_others=sum(not s.against_gold for s in stated),
    )


@dataclass(frozen=True)
class LabellerCalibration:
    """One labeller's stated confidence against how often they answered gold items right."""

    labeller: str
    gold_labels: int  # their gold labels with a stated confidence
    levels: tuple[ConfidenceLevel, ...]  # most sure first: labels at the level, and the share right
    reliability: Reliability  # the levels read as STATED_CONFIDENCE; its ECE is the labeller's


@dataclass(frozen=True)
class LabellerCalibrationReport:
    item_kind: str
    stated_confidence: dict[str, float]  # how each level is read
    pooled: Reliability  # every labeller's gold labels together
    labellers: tuple[LabellerCalibration, ...]  # by name
    gold_labels_without_confidence: int  # gold labels left out: no confidence stated


def labeller_calibration(
    labeller: str, stated: Sequence[tuple[str, bool]], *, bins: int = BINS
) -> LabellerCalibration:
    """`stated`: (confidence level, answered the gold item right) per gold label of the labeller. Each level
    falls in its own bin, so the ECE is the levels' gaps between stated and observed, weighted by use."""
    return LabellerCalibration(
        labeller=labeller,
        gold_labels=len(stated),
        levels=tuple(
            ConfidenceLevel(
                confidence=level,
                probability=probability,
                agrees=proportion(
                    sum(right for given, right in stated if given == level),
                    sum(given == level for given, _ in stated),
                ),
            )
            for level, probability in STATED_CONFIDENCE.items()
        ),
        reliability=reliability(
            [STATED_CONFIDENCE[given] for given, _ in stated], [right for _, right in stated], bins=bins
        ),
    )


def labeller_calibration_report(
    stated: Sequence[tuple[str, str, bool]], *, item_kind: str, without_confidence: int
) -> LabellerCalibrationReport:
    """`stated`: (labeller, confidence level, right) per gold label with a stated confidence."""
    return LabellerCalibrationReport(
        item_kind=item_kind,
        stated_confidence=dict(STATED_CONFIDENCE),
        pooled=labeller_calibration("", [(level, right) for _, level, right in stated]).reliability,
        labellers=tuple(
            labeller_calibration(name, [(level, right) for who, level, right in stated if who == name])
            for name in sorted({who for who, _, _ in stated})
        ),
        gold_labels_without_confidence=without_confidence,
    )
