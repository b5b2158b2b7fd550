"""Calibration: does a confidence (the model's own token probabilities, or a labeller's stated confidence)
match how often the answer turns out correct?

A reliability diagram sorts predictions into equal-width confidence bins and sets each bin's mean
confidence beside its correct rate; the expected calibration error is the gap between the two, averaged
over bins weighted by their size (Naeini et al. 2015; Guo et al. 2017). The model's confidence in a
candidate is exp(mean token logprob): the geometric mean of its tokens' probabilities.
"""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

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
        if positions:
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
    labeller_confidence: float | None  # the labellers' mean stated confidence, scaled to [0, 1]


@dataclass(frozen=True)
class GeneratorCalibration:
    generator: str
    model: Reliability  # exp(logprob_mean) against the verdict


@dataclass(frozen=True)
class CalibrationReport:
    model: Reliability  # every generator together
    by_generator: tuple[GeneratorCalibration, ...]
    labeller: Reliability  # the labellers' stated confidence against the verdict
    without_verdict: int  # candidates left out: no verdict (can't tell, split)
    without_logprobs: int  # candidates with a verdict left out of the model's diagram: no logprobs


def calibration_report(candidates: Sequence[CalibrationCandidate], *, bins: int = BINS) -> CalibrationReport:
    judged = [c for c in candidates if c.correct is not None]
    with_logprobs = [c for c in judged if c.logprob_mean is not None]

    def model_reliability(rows: Sequence[CalibrationCandidate]) -> Reliability:
        return reliability(
            [min(1.0, math.exp(c.logprob_mean)) for c in rows], [bool(c.correct) for c in rows], bins=bins
        )

    stated = [c for c in judged if c.labeller_confidence is not None]
    return CalibrationReport(
        model=model_reliability(with_logprobs),
        by_generator=tuple(
            GeneratorCalibration(name, model_reliability([c for c in with_logprobs if c.generator == name]))
            for name in sorted({c.generator for c in with_logprobs})
        ),
        labeller=reliability(
            [c.labeller_confidence for c in stated], [bool(c.correct) for c in stated], bins=bins
        ),
        without_verdict=len(candidates) - len(judged),
        without_logprobs=len(judged) - len(with_logprobs),
    )
