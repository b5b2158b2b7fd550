"""N-way ranking: K responses to one prompt (2 to 9), ordered best first, and an "all are flawed" flag.

Labellers see the candidates at randomised positions "A", "B", ... and submit the order as shown position
names, best first (`order=C,A,B,D`). It is stored canonical: `order` lists canonical candidate indices
best first, and `top` repeats the first of them so the dashboard can measure agreement on the best
response with a plain JSON key.

Several labellers' orders are combined by ranked pairs (Tideman), as the Open Assistant backend does:
count for every pair how many labellers ranked one above the other, lock in the pairwise majorities from
the largest margin down unless one would close a cycle with those already locked, and read the order off
the locked graph. The pairwise counts come with the aggregate, so exporters can turn rankings into
preference pairs (`consensus_pairs`).
"""

import itertools
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labelapp.errors import ApplicationError
from labelapp.kinds import base
from labelapp.kinds.base import AgreementField, BuildOptions, ItemShape, fields_check, majority, text_field
from labelapp.models import Candidate, CandidateStep

NAME = "ranking"
TEMPLATE = "labelapp/kinds/ranking.html"
CANDIDATE_COUNTS = range(2, 10)
POSITION_NAMES = base.POSITION_NAMES[: CANDIDATE_COUNTS.stop - 1]
DEFAULT_PER_ITEM = 4
ALLOWS_IDENTICAL_TEXTS = False  # nobody can order two copies of one text
HIDES_REFERENCE_ANSWER = False

AGREEMENT_FIELDS = (
    AgreementField("top", "nominal", tuple(range(CANDIDATE_COUNTS.stop - 1))),
    AgreementField("all_flawed", "nominal", (False, True)),
)
RATIONALE_MAX_CHARS = 5000
VALUE_HELP = (
    '{"order": ["C", "A", "B", "D"] or "C,A,B,D" (every shown position exactly once, best first), '
    '"all_flawed": true|false (optional), "rationale": text (optional)}; stored as canonical indices.'
)
FLAG_TEXTS = {"true": True, "on": True, "1": True, "false": False, "": False}


def value_from_form(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: data.get(key, "") for key in ("order", "all_flawed", "rationale")}


def label_validate(value: Any, *, shape: ItemShape) -> dict[str, Any]:
    """Check a value as submitted (shown positions) and return it cleaned; raise naming the bad field."""
    value = fields_check(value, ("order", "all_flawed", "rationale"))
    return {
        "order": _order_validate(value.get("order"), POSITION_NAMES[: shape.candidate_count]),
        "all_flawed": _flag_validate(value.get("all_flawed")),
        "rationale": text_field(value, "rationale", RATIONALE_MAX_CHARS),
    }


def _order_validate(raw: Any, names: Sequence[str]) -> list[int]:
    """Shown positions best first, as names ("C,A,B" or ["C", "A", "B"]) -> their numbers ([2, 0, 1])."""
    if isinstance(raw, str):
        raw = [name.strip() for name in raw.split(",")] if raw.strip() else []
    given = [name.upper() for name in raw if isinstance(name, str)] if isinstance(raw, list) else None
    if given is not None and len(given) == len(raw) and sorted(given) == sorted(names):
        return [names.index(name) for name in given]
    problem = _order_problem(given, names)
    raise ApplicationError(
        f"Field 'order' must list each of {', '.join(names)} exactly once, best first "
        f"(e.g. {','.join(names)}){problem}",
        {"field": "order", "allowed": list(names)},
    )


def _order_problem(given: list[str] | None, names: Sequence[str]) -> str:
    if given is None:
        return "."
    unknown = sorted({name for name in given if name not in names})
    repeated = sorted({name for name in given if given.count(name) > 1 and name in names})
    missing = [name for name in names if name not in given]
    parts = [
        f"{label} {', '.join(found)}"
        for label, found in (("unknown", unknown), ("repeated", repeated), ("missing", missing))
        if found
    ]
    return f"; {'; '.join(parts)}." if parts else "."


def _flag_validate(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw is None or (isinstance(raw, str) and raw.lower() in FLAG_TEXTS):
        return FLAG_TEXTS[(raw or "").lower()]
    raise ApplicationError(
        "Field 'all_flawed' must be true or false.", {"field": "all_flawed", "allowed": [True, False]}
    )


def label_to_canonical(value: Mapping[str, Any], shown_indices: Sequence[int]) -> dict[str, Any]:
    """`shown_indices[position]` is the canonical index of the candidate shown at that position."""
    order = [shown_indices[position] for position in value["order"]]
    return {**value, "order": order, "top": order[0]}


def gold_matches(value: Mapping[str, Any], gold_value: Mapping[str, Any] | None) -> bool:
    """A gold item is answered right when the labeller ranks the gold order's best candidate first.

    The rest of the order is not scored: below the best, candidates are often close, and a labeller
    who swaps two of them is not careless.
    """
    return gold_value is not None and value["order"][0] == gold_value["order"][0]


@dataclass(frozen=True)
class RankingAggregate:
    """Several labellers' rankings of one item, combined by ranked pairs; indices are canonical."""

    order: tuple[int, ...]  # the consensus, best first; () without labels
    wins: tuple[tuple[int, ...], ...]  # wins[i][j]: how many labellers ranked i above j
    agreement: float  # share of the labellers' pairwise preferences that the consensus order keeps
    mean_kendall_tau: float | None  # of each labeller's order with the consensus; None without labels
    label_count: int
    all_flawed: bool | None  # the majority's flag; None when labellers split evenly
    all_flawed_count: int  # labellers who flagged every candidate as flawed

    def margin(self, winner: int, loser: int) -> int:
        return self.wins[winner][loser] - self.wins[loser][winner]

    @property
    def clear_top(self) -> bool:
        """The consensus best beats every other candidate by a majority of labellers (a Condorcet winner)."""
        return bool(self.order) and all(self.margin(self.order[0], other) > 0 for other in self.order[1:])


def aggregate(values: Sequence[Mapping[str, Any]]) -> RankingAggregate:
    """Ranked pairs (Tideman) over canonical values.

    Equal margins, and candidates no locked preference orders (equal votes both ways), are decided by a
    fixed tie-break order: more pairwise wins over all labellers first (the Borda count), then the lower
    canonical index. So an exact tie cycle (A>B, B>C, C>A, each by one vote) yields A, B, C.

    `agreement` is the fraction of (labeller, pair of candidates) preferences that agree with the
    consensus order: 1 when everyone gave the consensus, 0.5 for orders unrelated to it. For one
    labeller's full ranking it equals (1 + Kendall tau) / 2, so it is the mean Kendall tau rescaled to
    0..1, comparable with the other kinds' share-agreeing-with-the-majority.
    """
    orders = [list(value["order"]) for value in values]
    count = len(orders[0]) if orders else 0
    if any(sorted(order) != list(range(count)) for order in orders):
        raise ValueError(f"Every order must rank candidates 0 to {count - 1} once each: {orders}.")
    wins = _pairwise_wins(orders, count)
    order = _ranked_pairs(wins, count)
    taus = [_kendall_tau(labeller_order, order) for labeller_order in orders]
    flag, flag_count = majority([bool(value.get("all_flawed")) for value in values])
    return RankingAggregate(
        order=tuple(order),
        wins=wins,
        agreement=sum((1 + tau) / 2 for tau in taus) / len(taus) if taus else 0.0,
        mean_kendall_tau=sum(taus) / len(taus) if taus else None,
        label_count=len(values),
        all_flawed=flag,
        all_flawed_count=sum(1 for value in values if value.get("all_flawed")),
    )


def _pairwise_wins(orders: Sequence[Sequence[int]], count: int) -> tuple[tuple[int, ...], ...]:
    wins = [[0] * count for _ in range(count)]
    for order in orders:
        for better, worse in itertools.combinations(order, 2):
            wins[better][worse] += 1
    return tuple(tuple(row) for row in wins)


def _ranked_pairs(wins: Sequence[Sequence[int]], count: int) -> list[int]:
    tie_break = sorted(range(count), key=lambda index: (-sum(wins[index]), index))
    rank_in_tie_break = {index: rank for rank, index in enumerate(tie_break)}
    majorities = [
        (winner, loser)
        for winner, loser in itertools.permutations(range(count), 2)
        if wins[winner][loser] > wins[loser][winner]
    ]
    # Largest margin first; equal margins by the winner's place in the tie-break order, then the loser's
    # place from the bottom (Zavist and Tideman's order of tied pairs).
    majorities.sort(
        key=lambda pair: (
            -(wins[pair[0]][pair[1]] - wins[pair[1]][pair[0]]),
            rank_in_tie_break[pair[0]],
            -rank_in_tie_break[pair[1]],
        )
    )
    beaten_by: dict[int, set[int]] = {index: set() for index in range(count)}
    for winner, loser in majorities:
        if not _reaches(beaten_by, loser, winner):
            beaten_by[winner].add(loser)
    return _locked_order(beaten_by, tie_break)


def _reaches(beaten_by: Mapping[int, set[int]], start: int, target: int) -> bool:
    """Whether locked preferences already lead from `start` down to `target` (locking target>start would close a cycle)."""
    seen, frontier = {start}, [start]
    while frontier:
        for below in beaten_by[frontier.pop()]:
            if below == target:
                return True
            if below not in seen:
                seen.add(below)
                frontier.append(below)
    return False


def _locked_order(beaten_by: Mapping[int, set[int]], tie_break: Sequence[int]) -> list[int]:
    """Best first: repeatedly the first candidate, in tie-break order, that no remaining one beats."""
    remaining = list(tie_break)
    order = []
    while remaining:
        unbeaten = next(c for c in remaining if not any(c in beaten_by[other] for other in remaining))
        order.append(unbeaten)
        remaining.remove(unbeaten)
    return order


def _kendall_tau(order: Sequence[int], reference: Sequence[int]) -> float:
    """Kendall's tau between two full rankings of the same candidates: 1 same order, -1 reversed."""
    pairs = len(order) * (len(order) - 1) // 2
    if pairs == 0:
        return 1.0
    place = {candidate: rank for rank, candidate in enumerate(reference)}
    concordant = sum(1 for better, worse in itertools.combinations(order, 2) if place[better] < place[worse])
    return (2 * concordant - pairs) / pairs


def consensus_pairs(consensus: RankingAggregate, *, min_margin: int = 1) -> list[tuple[int, int, int]]:
    """Preference pairs for exporters: (winner, loser, margin) in canonical indices, best winner first.

    Every pair the consensus order puts one way whose margin (labellers preferring the winner minus those
    preferring the loser) is at least `min_margin`: pairs the labellers were split on, or that the
    consensus had to reverse to break a cycle, are left out. The all-flawed flag is not looked at here:
    an exporter decides whether flawed sets yield pairs.
    """
    return [
        (winner, loser, consensus.margin(winner, loser))
        for winner, loser in itertools.combinations(consensus.order, 2)
        if consensus.margin(winner, loser) >= min_margin
    ]


def gold_value_from(consensus: RankingAggregate) -> dict[str, Any] | None:
    """The consensus as a known answer, when its best candidate beats every other by a majority."""
    if not consensus.clear_top:
        return None
    return {
        "order": list(consensus.order),
        "top": consensus.order[0],
        "all_flawed": consensus.all_flawed is True,
        "rationale": "",
    }


def options_check(options: BuildOptions) -> None:
    """Nothing beyond the candidate count, which `items_build` checks against CANDIDATE_COUNTS."""


def candidate_groups(
    candidates: Sequence[Candidate], *, options: BuildOptions, rng: random.Random
) -> Iterator[tuple[Candidate, ...]]:
    """Groups of K of one prompt's answers (revisions count), mixing generators so they can be compared.

    Texts that repeat an earlier answer are left out. The rest are dealt round-robin across generators
    (by name, each oldest first) and cut into groups of K; when the last group would be short, it takes
    its missing members from the group before, so every answer is ranked and every item has K. A prompt
    with fewer than K distinct answers gets no item. The grouping does not depend on `rng`, so building
    again finds the same groups already built.
    """
    per_item = options.per_item or DEFAULT_PER_ITEM
    answers = _distinct_texts(c for c in candidates if c.step != CandidateStep.CRITIQUE)
    dealt = _round_robin_by_generator(answers)
    for start in range(0, len(dealt), per_item):
        group = dealt[start : start + per_item]
        if len(group) < per_item:
            group = dealt[-per_item:] if len(dealt) >= per_item else []
        if group:
            yield tuple(group)


def _distinct_texts(candidates: Iterator[Candidate]) -> list[Candidate]:
    seen: set[str] = set()
    distinct = []
    for candidate in candidates:
        text = candidate.text.strip()
        if text not in seen:
            seen.add(text)
            distinct.append(candidate)
    return distinct


def _round_robin_by_generator(candidates: Sequence[Candidate]) -> list[Candidate]:
    by_generator: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_generator.setdefault(candidate.generator.name, []).append(candidate)
    queues = [by_generator[name] for name in sorted(by_generator)]
    dealt = itertools.chain.from_iterable(itertools.zip_longest(*queues))
    return [candidate for candidate in dealt if candidate is not None]


def shuffled_positions(count: int, rng: random.Random) -> list[int]:
    return base.shuffled(count, rng)
