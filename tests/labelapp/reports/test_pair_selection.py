"""Active selection's pair weights: votes go where one more vote says most about the generators' order."""

import numpy as np
import pytest

from labelapp.reports.pair_selection import EXPLORE, pair_weights

PAIRS = [(0, 1), (0, 2), (1, 2)]


def _wins(votes: dict[tuple[int, int], int], players: int = 3) -> np.ndarray:
    wins = np.zeros((players, players))
    for (winner, loser), count in votes.items():
        wins[winner, loser] = count
    return wins


def test_without_votes_every_pair_is_as_likely():
    assert pair_weights(_wins({}), PAIRS) == pytest.approx([1 / 3] * 3)


def test_a_pair_with_few_votes_gets_more_weight_than_one_with_many():
    # Every pair split evenly (equal strengths); 0-1 has 4 votes, the others 100 each.
    wins = _wins({(0, 1): 2, (1, 0): 2, (0, 2): 50, (2, 0): 50, (1, 2): 50, (2, 1): 50})
    weights = pair_weights(wins, PAIRS)
    assert weights[0] > 2 * weights[1]
    assert weights[1] == pytest.approx(weights[2])


def test_close_strengths_get_more_weight_than_an_order_that_is_sure():
    # 0 and 1 split 30:30; 2 lost 50 of 55 to each: only 0 against 1 is still open.
    wins = _wins({(0, 1): 30, (1, 0): 30, (0, 2): 50, (2, 0): 5, (1, 2): 50, (2, 1): 5})
    weights = pair_weights(wins, PAIRS)
    assert weights[0] > 0.8
    assert weights[1] == pytest.approx(EXPLORE / 3, abs=0.01)  # only the uniform share


def test_weights_are_a_distribution_over_the_pairs_asked_about():
    wins = _wins({(0, 1): 3, (2, 3): 1, (1, 3): 7}, players=4)
    pairs = [(0, 1), (2, 3), (0, 3)]
    weights = pair_weights(wins, pairs)
    assert weights.shape == (3,) and weights.sum() == pytest.approx(1) and (weights > 0).all()
    assert pair_weights(wins, []).shape == (0,)
