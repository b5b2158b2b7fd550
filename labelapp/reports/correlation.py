"""Rank correlation between an automatic metric and human scores on the same sets."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class Correlation:
    rho: float | None  # None when undefined: fewer than 3 pairs, or one side constant
    p_value: float | None
    n: int


def spearman(x: Sequence[float], y: Sequence[float]) -> Correlation:
    """Spearman's rho (Pearson's correlation of the ranks, ties given their mean rank) with its p-value."""
    if len(x) != len(y):
        raise ValueError(f"Spearman needs paired values, got {len(x)} and {len(y)}.")
    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return Correlation(rho=None, p_value=None, n=len(x))
    result = stats.spearmanr(x, y)
    rho, p_value = float(result.statistic), float(result.pvalue)
    return Correlation(rho=rho, p_value=None if math.isnan(p_value) else p_value, n=len(x))
