"""Which generator pairs the next votes should compare, so the Bradley–Terry ranking settles with the fewest.

The rule is Chatbot Arena's (Chiang et al. 2024, arXiv 2403.04132, "active sampling"): sample a pair in
proportion to how much one more vote on it shrinks its interval, sqrt(Σ/n) − sqrt(Σ/(n+1)), with two changes
for a ranking:
- Σ/n, the variance of the pair's score difference, is read from the whole fit (the inverse Fisher
  information of every comparison), not from the pair's own votes: a pair never compared directly but
  ordered through others is not uncertain, and one more direct vote is worth what it adds to that.
- The reduction is weighted by the chance that the pair's order is still wrong, 2·Φ(−|Δ|/σ): a
  leaderboard's order only needs the pairs that could still swap, and the plain rule keeps spending votes
  on pairs whose order is long settled.
Why this and not Thompson sampling: in a numpy simulation of bench/active_selection.py's world (8
generators 0.25 apart, noisy position-biased labellers, 100 seeds; labels until Kendall tau >= 0.9 at three
checks in a row) uniform needed a median 600 labels, the plain Arena rule 512, Thompson sampling (weights =
how often a pair is the closest neighbours in draws from the posterior) 500, this rule 425. On the app
itself (the bench, 30 seeds, BENCHMARKS.md) the gain was within the seeds' spread; so was an oracle's that
spends every vote on the true neighbours: with evenly spaced strengths every vote says about as much about
the order, and there is little to save on that criterion. On the other criterion (the order right with
neighbours' 95% bootstrap intervals apart; 8 generators 1.0 apart, 20 seeds) the bench measured uniform
2100 against active 1700 labels (1.24x). Its ceiling is low too: the best allocation a numerical search
found with the truth known needs 1.7x fewer votes than uniform (normal approximation), votes on neighbours
only 1.4x, since a chain of neighbours leaves each mean-centred score with every link's uncertainty. Weighting by
the chance that the intervals still overlap instead of the order, a refit every label, and EXPLORE 0 or
0.3 all stayed within the seeds' spread in the numpy simulation.
A share EXPLORE of the votes stays uniform, so no pair is starved on an early wrong estimate.
"""

import math
from collections.abc import Sequence

import numpy as np

from labelapp.reports.bradley_terry import bradley_terry_scores

EXPLORE = 0.1
PRIOR_INFORMATION = (
    0.1  # per player, towards the average: every difference has a finite variance before votes
)


def pair_weights(wins: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """How often to compare each of `pairs` next (summing to 1), from wins[i, j] = times i beat j (ties half).

    Pairs with few votes and pairs of close strength get more weight; a pair whose order is sure gets only
    its EXPLORE share.
    """
    if not pairs:
        return np.zeros(0)
    scores = bradley_terry_scores(wins)
    chance = _win_chance(scores)
    played = wins + wins.T
    covariance = np.linalg.inv(_information(played, chance))
    gains = np.array([_gain(covariance, scores, chance, i, j) for i, j in pairs])
    uniform = np.full(len(pairs), 1 / len(pairs))
    if gains.sum() <= 0:
        return uniform
    return (1 - EXPLORE) * gains / gains.sum() + EXPLORE * uniform


def _win_chance(scores: np.ndarray) -> np.ndarray:
    """[i, j]: the fitted chance that i beats j."""
    return 1 / (1 + np.exp(scores[None, :] - scores[:, None]))


def _information(played: np.ndarray, chance: np.ndarray) -> np.ndarray:
    """Fisher information of the scores: each comparison of i and j adds p(1−p) on the difference s_i − s_j."""
    weight = played * chance * (1 - chance)
    information = np.diag(weight.sum(axis=1)) - weight
    return information + PRIOR_INFORMATION * np.eye(len(played))


def _gain(covariance: np.ndarray, scores: np.ndarray, chance: np.ndarray, i: int, j: int) -> float:
    """How much one more vote on (i, j) narrows the interval of s_i − s_j, times the chance their order is
    wrong. The new variance is the rank-one update of the information by that vote (Sherman–Morrison)."""
    variance = covariance[i, i] + covariance[j, j] - 2 * covariance[i, j]
    per_vote = chance[i, j] * (1 - chance[i, j])
    narrower = variance - per_vote * variance**2 / (1 + per_vote * variance)
    unsure = math.erfc(abs(scores[i] - scores[j]) / math.sqrt(2 * variance))
    return float((math.sqrt(variance) - math.sqrt(narrower)) * unsure)
