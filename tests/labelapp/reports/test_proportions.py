"""Wilson intervals on hand-computed cases and against scipy."""

import pytest
from scipy.stats import binomtest

from labelapp.reports.proportions import proportion, wilson_interval


def test_wilson_interval_by_hand_and_against_scipy():
    # 8 of 10, z = 1.96: centre (0.8 + z²/20) / (1 + z²/10) = 0.7167, half-width 0.2266.
    low, high = wilson_interval(8, 10)
    assert (low, high) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    for count, total in [(0, 10), (3, 7), (10, 10), (1, 1), (45, 200)]:
        expected = binomtest(count, total).proportion_ci(confidence_level=0.95, method="wilson")
        assert wilson_interval(count, total) == pytest.approx((expected.low, expected.high), abs=1e-9)


def test_wilson_interval_rejects_impossible_counts():
    with pytest.raises(ValueError, match="total of at least 1"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="between 0 and the total"):
        wilson_interval(4, 3)
    assert proportion(0, 0).rate is None
    assert proportion(1, 4).rate == 0.25
