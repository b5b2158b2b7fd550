"""Bradley–Terry scores of players (generators, generation configs) from pairwise outcomes.

The model: P(i beats j) = exp(s_i) / (exp(s_i) + exp(s_j)). Scores are natural-log strengths centred on
their mean, so 0 is an average player and a difference of 0.69 (ln 2) means "wins two times in three".

Fitting uses choix (Luce spectral ranking, iterated to the maximum-likelihood estimate) on a dense win
matrix, so a tie counts as half a win each way. choix was picked over a hand-written scipy optimiser
because it is the reference implementation of these estimators and converges in a few iterations.
`alpha` adds that rate of pseudo-comparisons between every two players: without it a player who won (or
lost) every comparison, or a comparison graph in separate pieces, has no finite maximum-likelihood score.
`alpha=0` gives the plain maximum-likelihood estimate, which exists only when the data has none of those.

Intervals come from a seeded bootstrap over the comparisons (each outcome redrawn with replacement), so the
same data and seed always give the same intervals.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import choix
import numpy as np

REGULARISATION = 0.01
BOOTSTRAP_SAMPLES = 500
CONFIDENCE = 0.95


class Comparison(NamedTuple):
    """One outcome: `winner` beat `loser`, or, with `tie`, neither did (the order then means nothing)."""

    winner: str
    loser: str
    tie: bool = False


@dataclass(frozen=True)
class PlayerScore:
    key: str
    score: float
    low: float | None  # bootstrap percentile interval of the score; None without bootstrap samples
    high: float | None
    comparisons: int
    wins: int
    losses: int
    ties: int


@dataclass(frozen=True)
class Leaderboard:
    players: tuple[PlayerScore, ...]  # best first
    win_rate: tuple[tuple[float | None, ...], ...]  # [row][column]: row's share against column, ties half
    pair_counts: tuple[tuple[int, ...], ...]  # [row][column]: comparisons between the two
    comparisons: int
    bootstrap_samples: int
    seed: int
    confidence: float = CONFIDENCE

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(player.key for player in self.players)


def win_matrix(outcomes: np.ndarray, counts: np.ndarray, players: int) -> np.ndarray:
    """wins[i, j]: how often i beat j, a tie counting half to each; `outcomes` rows are (i, j, tie)."""
    wins = np.zeros((players, players))
    weight = np.where(outcomes[:, 2] == 1, 0.5, 1.0) * counts
    np.add.at(wins, (outcomes[:, 0], outcomes[:, 1]), weight)
    ties = outcomes[:, 2] == 1
    np.add.at(wins, (outcomes[ties, 1], outcomes[ties, 0]), weight[ties])
    return wins


def bradley_terry_scores(wins: np.ndarray, *, alpha: float = REGULARISATION) -> np.ndarray:
    """Mean-centred log-strengths from a win matrix (wins[i, j] = times i beat j, fractions allowed)."""
    if wins.shape[0] < 2:
        return np.zeros(wins.shape[0])
    return choix.ilsr_pairwise_dense(wins, alpha=alpha, max_iter=1000)


def leaderboard(
    comparisons: Iterable[tuple[str, str, bool]],
    *,
    bootstrap_samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
    alpha: float = REGULARISATION,
) -> Leaderboard:
    """Scores with bootstrap intervals, win rates and comparison counts from (winner, loser, tie) outcomes."""
    tally: dict[tuple[str, str, bool], int] = {}
    for winner, loser, tie in comparisons:
        if winner == loser:
            raise ValueError(f"A comparison needs two different players, got {winner!r} twice.")
        if tie and loser < winner:
            winner, loser = loser, winner  # one tally per tied pair, whatever order it came in
        tally[(winner, loser, bool(tie))] = tally.get((winner, loser, bool(tie)), 0) + 1
    keys = sorted({key for winner, loser, _ in tally for key in (winner, loser)})
    index = {key: position for position, key in enumerate(keys)}
    outcomes = np.array([(index[w], index[lo], int(t)) for w, lo, t in tally], dtype=int).reshape(-1, 3)
    counts = np.array(list(tally.values()), dtype=float)

    wins = win_matrix(outcomes, counts, len(keys))
    scores = bradley_terry_scores(wins, alpha=alpha)
    low, high = _bootstrap_intervals(outcomes, counts, len(keys), bootstrap_samples, seed, alpha)
    played = wins + wins.T

    decided = outcomes[:, 2] == 0
    players = []
    for position, key in enumerate(keys):
        players.append(
            PlayerScore(
                key=key,
                score=float(scores[position]),
                low=None if low is None else float(low[position]),
                high=None if high is None else float(high[position]),
                comparisons=int(round(played[position].sum())),
                wins=int(counts[decided & (outcomes[:, 0] == position)].sum()),
                losses=int(counts[decided & (outcomes[:, 1] == position)].sum()),
                ties=int(
                    counts[~decided & ((outcomes[:, 0] == position) | (outcomes[:, 1] == position))].sum()
                ),
            )
        )
    order = sorted(range(len(keys)), key=lambda p: (-players[p].score, keys[p]))
    return Leaderboard(
        players=tuple(players[p] for p in order),
        win_rate=tuple(
            tuple(float(wins[r, c] / played[r, c]) if played[r, c] else None for c in order) for r in order
        ),
        pair_counts=tuple(tuple(int(round(played[r, c])) for c in order) for r in order),
        comparisons=int(counts.sum()),
        bootstrap_samples=bootstrap_samples,
        seed=seed,
    )


def _bootstrap_intervals(
    outcomes: np.ndarray, counts: np.ndarray, players: int, samples: int, seed: int, alpha: float
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Percentile intervals of each score over `samples` refits on comparisons drawn with replacement.

    Drawing N comparisons with replacement is drawing how many times each distinct outcome occurs from a
    multinomial, which is what is done here: the same distribution, without building N rows per sample.
    """
    total = int(counts.sum())
    if samples < 1 or total == 0:
        return None, None
    rng = np.random.default_rng(seed)
    fits = np.array(
        [
            bradley_terry_scores(
                win_matrix(outcomes, rng.multinomial(total, counts / total), players), alpha=alpha
            )
            for _ in range(samples)
        ]
    )
    tail = (1 - CONFIDENCE) / 2 * 100
    return np.percentile(fits, tail, axis=0), np.percentile(fits, 100 - tail, axis=0)
