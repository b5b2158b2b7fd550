"""Bradley–Terry on win matrices whose maximum-likelihood scores can be worked out by hand."""

import math

import numpy as np
import pytest

from labelapp.reports.bradley_terry import Comparison, leaderboard


def _outcomes(wins: dict[tuple[str, str], int], ties: dict[tuple[str, str], int] | None = None):
    rows = [Comparison(w, lo) for (w, lo), count in wins.items() for _ in range(count)]
    rows += [Comparison(a, b, tie=True) for (a, b), count in (ties or {}).items() for _ in range(count)]
    return rows


# Strengths 4 : 2 : 1 predict A beats B 2/3, B beats C 2/3, A beats C 4/5. These counts match those rates
# exactly (2 of 3, 2 of 3, 4 of 5), so the maximum-likelihood strengths are 4 : 2 : 1: centred log
# scores ln 2, 0, -ln 2.
KNOWN = {("A", "B"): 2, ("B", "A"): 1, ("B", "C"): 2, ("C", "B"): 1, ("A", "C"): 4, ("C", "A"): 1}


def test_a_known_win_matrix_gives_its_strengths():
    board = leaderboard(_outcomes(KNOWN), alpha=0, bootstrap_samples=0)
    assert board.keys == ("A", "B", "C")
    assert [p.score for p in board.players] == pytest.approx([math.log(2), 0, -math.log(2)], abs=1e-6)
    assert board.comparisons == 11
    a = board.players[0]
    assert (a.comparisons, a.wins, a.losses, a.ties) == (8, 6, 2, 0)
    assert (a.low, a.high) == (None, None)


def test_win_rates_and_counts_per_pair():
    board = leaderboard(_outcomes(KNOWN, ties={("B", "A"): 2}), alpha=0, bootstrap_samples=0)
    # A vs B: A won 2, lost 1, tied 2: (2 + 1) / 5 = 0.6; B's side is 0.4. A vs C: 4/5.
    assert board.keys[0] == "A"
    index = {key: i for i, key in enumerate(board.keys)}
    a, b, c = index["A"], index["B"], index["C"]
    assert board.win_rate[a][b] == pytest.approx(0.6)
    assert board.win_rate[b][a] == pytest.approx(0.4)
    assert board.win_rate[a][c] == pytest.approx(0.8)
    assert board.win_rate[a][a] is None
    assert board.pair_counts[a][b] == board.pair_counts[b][a] == 5
    assert board.pair_counts[b][c] == 3
    assert board.players[a].ties == 2


def test_one_tie_each_way_is_an_even_score():
    board = leaderboard(
        [("x", "y", True), ("y", "x", False), ("x", "y", False)], alpha=0, bootstrap_samples=0
    )
    assert [p.score for p in board.players] == pytest.approx([0, 0], abs=1e-9)


def test_a_clean_sweep_has_a_finite_score_with_regularisation():
    board = leaderboard([("A", "B", False)] * 5, bootstrap_samples=20)
    best, worst = board.players
    assert best.key == "A" and math.isfinite(best.score) and best.score > 1
    assert best.score == pytest.approx(-worst.score)


def test_bootstrap_intervals_are_seeded_and_contain_the_estimate():
    rng = np.random.default_rng(3)
    strengths = {"g1": 1.0, "g2": 0.0, "g3": -1.0}
    rows = []
    for _ in range(300):
        i, j = rng.choice(list(strengths), size=2, replace=False)
        p = 1 / (1 + math.exp(strengths[j] - strengths[i]))
        rows.append((i, j, False) if rng.random() < p else (j, i, False))
    first = leaderboard(rows, bootstrap_samples=200, seed=7)
    again = leaderboard(iter(rows), bootstrap_samples=200, seed=7)
    other_seed = leaderboard(rows, bootstrap_samples=200, seed=8)
    assert first == again
    assert first != other_seed
    assert first.keys == ("g1", "g2", "g3")
    for player in first.players:
        assert player.low < player.score < player.high
        assert player.high - player.low < 1.5
    # The true centred scores lie inside their intervals.
    for player in first.players:
        assert player.low <= strengths[player.key] <= player.high


def test_a_player_cannot_play_itself():
    with pytest.raises(ValueError, match="two different players"):
        leaderboard([("A", "A", False)])


def test_no_comparisons_is_an_empty_board():
    board = leaderboard([])
    assert board.players == () and board.comparisons == 0
