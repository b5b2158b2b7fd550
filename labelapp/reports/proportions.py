"""Proportions with Wilson score intervals, which stay inside [0, 1] and behave at 0 or n successes."""

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile


@dataclass(frozen=True)
class Proportion:
    count: int
    total: int
    rate: float | None  # count / total; None when total is 0
    low: float | None  # Wilson interval
    high: float | None


def wilson_interval(count: int, total: int, *, z: float = Z_95) -> tuple[float, float]:
    """Wilson (1927) score interval of count / total: the p for which |p̂ - p| <= z sqrt(p(1 - p)/n)."""
    if total <= 0:
        raise ValueError(f"A proportion needs a total of at least 1, got {total}.")
    if not 0 <= count <= total:
        raise ValueError(f"The count must be between 0 and the total {total}, got {count}.")
    rate = count / total
    denominator = 1 + z**2 / total
    centre = (rate + z**2 / (2 * total)) / denominator
    half = z / denominator * math.sqrt(rate * (1 - rate) / total + z**2 / (4 * total**2))
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(count: int, total: int) -> Proportion:
    if total == 0:
        return Proportion(count=count, total=0, rate=None, low=None, high=None)
    low, high = wilson_interval(count, total)
    return Proportion(count=count, total=total, rate=count / total, low=low, high=high)
