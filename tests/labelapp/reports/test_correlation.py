"""Spearman's rho by hand and in its undefined cases."""

import pytest

from labelapp.reports.correlation import spearman


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
