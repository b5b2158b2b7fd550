"""The generator leaderboard: Bradley–Terry scores of generators, and of generation configs, from pairwise,
ranking or set-vs-set items.

One comparison per pairwise item, from the labellers' aggregate (the pairwise kind's majority): labels on
one item are not independent draws, so the bootstrap resamples items, not labels. A ranking item gives one
comparison per pair of its candidates, from the labellers' consensus order (`ranking.consensus_pairs`:
pairs the labellers split on have no majority); those pairs share an item, so the bootstrap, which
redraws comparisons, makes their intervals somewhat narrower than they are. A set-vs-set item compares
the two sets' players, by the labellers' majority preferred set. An item whose labellers split
evenly has no majority and is left out; "both bad" counts as a tie (neither was preferred), as Chatbot
Arena counts it. An item comparing a player with itself (two samples of one generator; for configs, of
one config) says nothing about the ranking and is left out of that board. Gold items never count.

A generation config is a generator with its sampling params other than the seed and the sample count
(a job's params key hashes the seed, so every job would otherwise be a config of its own), the step
when it is not a first answer (self-critique revisions), and the selection when a best-of-N job selected the
answer: "small · best-of-8 by logprob" is a config of its own beside small's single samples.
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labelapp.reports.bradley_terry import BOOTSTRAP_SAMPLES, Comparison, Leaderboard, leaderboard

NOT_CONFIG = ("seed", "n")


@dataclass(frozen=True)
class Player:
    generator: str
    params: Mapping[str, Any]
    step: str = "answer"
    selection: str = ""  # how a best-of-N job selected the answer: "best-of-8 by logprob"

    @property
    def config(self) -> str:
        """A stable identity: generator, params that define the config, step and best-of-N selection."""
        params = {k: v for k, v in self.params.items() if k not in NOT_CONFIG}
        return json.dumps([self.generator, params, self.step, self.selection], sort_keys=True)


@dataclass(frozen=True)
class PairOutcome:
    """One pairwise item: its two candidates' players (canonical order) and the labellers' aggregate."""

    item_id: int
    first: Player
    second: Player
    choice: str | None  # "a" (first), "b", "tie", "both_bad", or None without a majority


@dataclass(frozen=True)
class BoardCounts:
    items: int  # items with a majority
    used: int  # items that became a comparison on this board
    same_player: int  # left out: both candidates from one player
    ties: int  # tie or both bad, among the used


@dataclass(frozen=True)
class LeaderboardReport:
    source: str  # the kind of items compared: pairwise, ranking or set-vs-set
    by_generator: Leaderboard
    by_config: Leaderboard
    config_names: Mapping[str, str]  # config identity -> readable name, e.g. "small · temperature 0.7"
    generator_counts: BoardCounts
    config_counts: BoardCounts
    items_without_majority: int  # labelled items (ranking: pairs) whose labellers split evenly
    items_unlabelled: int


def comparisons(outcomes: Sequence[PairOutcome], key: str) -> Iterator[Comparison]:
    """(winner, loser, tie) per decided item, with players named by `key` ("generator" or "config")."""
    for outcome in outcomes:
        first, second = getattr(outcome.first, key), getattr(outcome.second, key)
        if outcome.choice is None or first == second:
            continue
        if outcome.choice == "b":
            yield Comparison(second, first)
        else:
            yield Comparison(first, second, tie=outcome.choice in {"tie", "both_bad"})


def config_names(players: Sequence[Player]) -> dict[str, str]:
    """Name each config by its generator and the params that differ between that generator's configs."""
    by_generator: dict[str, dict[str, Player]] = {}
    for player in players:
        by_generator.setdefault(player.generator, {})[player.config] = player
    names = {}
    for generator, configs in by_generator.items():
        keys = sorted({k for p in configs.values() for k in p.params if k not in NOT_CONFIG})
        varying = [k for k in keys if len({json.dumps(p.params.get(k)) for p in configs.values()}) > 1]
        shown = varying or (["temperature"] if "temperature" in keys else [])
        for identity, player in configs.items():
            parts = [f"{k} {player.params.get(k)}" for k in shown]
            if player.step != "answer":
                parts.append(player.step)
            if player.selection:
                parts.append(player.selection)
            names[identity] = " · ".join([generator, *parts])
    return names


def _counts(outcomes: Sequence[PairOutcome], key: str) -> BoardCounts:
    decided = [o for o in outcomes if o.choice is not None]
    used = [o for o in decided if getattr(o.first, key) != getattr(o.second, key)]
    return BoardCounts(
        items=len(decided),
        used=len(used),
        same_player=len(decided) - len(used),
        ties=sum(o.choice in {"tie", "both_bad"} for o in used),
    )


def leaderboard_report(
    outcomes: Sequence[PairOutcome],
    *,
    source: str = "pairwise",
    unlabelled: int = 0,
    bootstrap_samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> LeaderboardReport:
    names = config_names([p for o in outcomes for p in (o.first, o.second)])
    by_config = leaderboard(comparisons(outcomes, "config"), bootstrap_samples=bootstrap_samples, seed=seed)
    return LeaderboardReport(
        source=source,
        by_generator=leaderboard(
            comparisons(outcomes, "generator"), bootstrap_samples=bootstrap_samples, seed=seed
        ),
        by_config=by_config,
        config_names={key: names[key] for key in by_config.keys},
        generator_counts=_counts(outcomes, "generator"),
        config_counts=_counts(outcomes, "config"),
        items_without_majority=sum(o.choice is None for o in outcomes),
        items_unlabelled=unlabelled,
    )
