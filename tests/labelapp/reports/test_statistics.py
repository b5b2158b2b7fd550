"""Cohen's kappa, Wilson intervals and Spearman's rho on textbook and hand-computed cases."""

import pytest
from scipy.stats import binomtest

from labelapp.reports.agreement import cohen_kappa
from labelapp.reports.correlation import spearman
from labelapp.reports.proportions import proportion, wilson_interval


def test_cohen_kappa_textbook_example():
    # 50 items, two raters (the example on Wikipedia's "Cohen's kappa" page): both yes 20, both no 15,
    # yes/no 5, no/yes 10. p_o = 35/50 = 0.7; rater 1 says yes 25/50, rater 2 30/50:
    # p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    result = cohen_kappa(pairs, values=["yes", "no"])
    assert result.kappa == pytest.approx(0.4)
    assert (result.items, result.agreed) == (50, 35)
    assert result.observed_agreement == pytest.approx(0.7)
    assert result.expected_agreement == pytest.approx(0.5)
    assert result.confusion == ((20, 5), (10, 15))


def test_cohen_kappa_perfect_chance_and_undefined():
    assert cohen_kappa([("a", "a"), ("b", "b")]).kappa == pytest.approx(1.0)
    # Agreement exactly at chance: p_o = 0.5, p_e = 0.5.
    assert cohen_kappa([("a", "a"), ("a", "b"), ("b", "a"), ("b", "b")]).kappa == pytest.approx(0.0)
    # Both raters always say "a": p_e = 1, kappa undefined rather than 0/0.
    assert cohen_kappa([("a", "a"), ("a", "a")]).kappa is None
    assert cohen_kappa([]).kappa is None


def test_cohen_kappa_names_values_outside_the_list():
    with pytest.raises(ValueError, match="'tie'"):
        cohen_kappa([("a", "tie")], values=["a", "b"])


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


def test_spearman_by_hand():
    # No ties: d = (-1, 1, -1, 1, 0), sum d² = 4, rho = 1 - 6 * 4 / (5 * 24) = 0.8.
    result = spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    assert result.rho == pytest.approx(0.8)
    assert result.n == 5
    assert spearman([1, 2, 3], [30, 20, 10]).rho == pytest.approx(-1.0)


def test_spearman_undefined_cases():
    assert spearman([1, 2], [1, 2]).rho is None
    assert spearman([1, 1, 1], [1, 2, 3]).rho is None
    with pytest.raises(ValueError, match="paired"):
        spearman([1, 2, 3], [1, 2])
