"""Position bias: does a labeller (or an AI judge) choose the answer shown first more often than chance?

Each decision is one label where the rater picked a position: on a pairwise item a choice of A or B (ties
and "both bad" name no position and are left out), on a ranking item the answer ranked first. Without a
bias the first shown answer is picked with probability 1/n (n answers shown: 0.5 on a pair), since shown
orders are random. Per rater, the count of firsts is tested against that chance with an exact two-sided
test: the binomial test where every decision has the same chance, else the same test on the Poisson
binomial distribution (decisions over items of different sizes); either way the p-value sums the
probabilities of the outcomes no more likely than the one observed (as scipy's binomtest does).

The raters tested are many at once, so their p-values are corrected with Holm's step-down method (Holm
1979), which controls the chance of flagging any unbiased rater at ALPHA without assuming the tests are
independent, and is never less powerful than Bonferroni's. Raters whose corrected p-value is below ALPHA
are the ones to look at.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

from labelapp.reports.proportions import Proportion, proportion

ALPHA = 0.05
CORRECTION = "Holm"
# Outcomes whose probability is within this factor of the observed one count as "no more likely" (scipy's
# binomtest uses the same tolerance against rounding).
RELATIVE_TOLERANCE = 1 + 1e-7


@dataclass(frozen=True)
class PositionDecision:
    """One label that picked a position: whether it picked the first shown, and that pick's chance."""

    rater: str
    rater_kind: str  # "labeller" or "judge"
    first: bool
    chance: float  # 1 / the number of answers shown


@dataclass(frozen=True)
class RaterBias:
    rater: str
    rater_kind: str
    decisions: int  # labels that picked a position
    first: Proportion  # how often the first shown was picked, with its Wilson interval
    expected: float  # the share of firsts expected without a bias
    p_value: float  # exact two-sided test against `expected`
    p_adjusted: float  # Holm-corrected over every rater in the report
    look_at: bool  # p_adjusted < ALPHA


@dataclass(frozen=True)
class PositionBiasReport:
    item_kind: str  # pairwise or ranking
    raters: tuple[RaterBias, ...]  # labellers by name, then judges by name
    look_at: tuple[str, ...]  # the raters to look at, most significant first
    alpha: float
    correction: str
    labels_without_position: int  # ties, both bad, labels whose shown order is not known


def first_pick_p_value(chances: Sequence[float], firsts: int) -> float:
    """Exact two-sided p-value of `firsts` first picks among decisions with these chances."""
    n = len(chances)
    if n == 0:
        return 1.0
    if len(set(chances)) == 1:
        return float(binomtest(firsts, n, chances[0]).pvalue)
    pmf = np.zeros(n + 1)
    pmf[0] = 1.0
    for number, chance in enumerate(chances, start=1):  # the count of firsts, one decision at a time
        pmf[1 : number + 1] = pmf[1 : number + 1] * (1 - chance) + pmf[:number] * chance
        pmf[0] *= 1 - chance
    return float(min(1.0, pmf[pmf <= pmf[firsts] * RELATIVE_TOLERANCE].sum()))


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the given order."""
    count = len(p_values)
    adjusted = [1.0] * count
    running = 0.0
    for rank, index in enumerate(sorted(range(count), key=lambda i: p_values[i])):
        running = max(running, min(1.0, (count - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def position_bias_report(
    decisions: Sequence[PositionDecision], *, item_kind: str, labels_without_position: int
) -> PositionBiasReport:
    raters = sorted(
        {(d.rater_kind, d.rater) for d in decisions}, key=lambda key: (key[0] != "labeller", key[1])
    )
    rows = []
    for rater_kind, rater in raters:
        own = [d for d in decisions if d.rater == rater and d.rater_kind == rater_kind]
        firsts = sum(d.first for d in own)
        chances = [d.chance for d in own]
        rows.append((rater_kind, rater, own, firsts, first_pick_p_value(chances, firsts)))
    adjusted = holm_adjusted([row[-1] for row in rows])
    biases = tuple(
        RaterBias(
            rater=rater,
            rater_kind=rater_kind,
            decisions=len(own),
            first=proportion(firsts, len(own)),
            expected=sum(d.chance for d in own) / len(own),
            p_value=p_value,
            p_adjusted=p_adjusted,
            look_at=p_adjusted < ALPHA,
        )
        for (rater_kind, rater, own, firsts, p_value), p_adjusted in zip(rows, adjusted, strict=True)
    )
    return PositionBiasReport(
        item_kind=item_kind,
        raters=biases,
        look_at=tuple(bias.rater for bias in sorted(biases, key=lambda b: b.p_value) if bias.look_at),
        alpha=ALPHA,
        correction=CORRECTION,
        labels_without_position=labels_without_position,
    )
