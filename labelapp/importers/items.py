"""Which items a row's groups become in a campaign of a given kind, and what the dataset's verdict says of
each, in the item's canonical order and the kind's label shape (the source label's value).

- A pair (trl-preference, hh-rlhf, shp, arena) is one pairwise item: {"choice": "a"|"b"|"tie"|"both_bad"}.
- A scored set (ultrafeedback) is an item per pair on a pairwise campaign (the higher score wins, equal
  scores tie), one ranking item ({"order": best first, "top"}: equal scores keep the dataset's order), or
  one set-wise item ({"best", "worst"}, where one answer has the highest or the lowest score alone).
- On correctness and coherence campaigns each answer is an item of its own, without a source label: the
  dataset says which answer is better, not whether either is right or coherent.
- Set-vs-set compares two sets of one prompt's samples, which no dataset here groups: refused.

A pair whose dataset lists the preferred answer first (chosen, rejected) has its canonical order drawn
from its answers' content keys, so the order is the same on every import and the verdict is "a" for about
half the items: a verdict that is always "a" would make Cohen's kappa with the labellers meaningless.
"""

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from labelapp.importers.rows import Group, ImportRow, content_key

PAIRWISE, RANKING, SETWISE = "pairwise", "ranking", "setwise"
PER_ANSWER = ("correctness", "coherence")
ALL_KINDS = (PAIRWISE, "correctness", "coherence", SETWISE, "set-vs-set", RANKING)
KINDS_FOR_GROUPS: dict[str | None, tuple[str, ...]] = {
    None: ALL_KINDS,  # answers only: build_items groups them for any kind
    "pairs": (PAIRWISE, *PER_ANSWER),
    "scored sets": (PAIRWISE, RANKING, SETWISE, *PER_ANSWER),
}
SWAPPED = {"a": "b", "b": "a", "tie": "tie", "both_bad": "both_bad"}


@dataclass(frozen=True)
class PlannedItem:
    candidates: tuple[int, ...]  # indices into the row's candidates, in canonical order
    value: dict[str, Any] | None = None  # the source label's value; None: the dataset says nothing of it
    raw: dict[str, Any] = field(default_factory=dict)


def _subset_raw(group: Group, members: Sequence[int]) -> dict[str, Any]:
    """The group's raw fields, lists with one entry per answer cut down to the item's answers."""
    positions = [group.candidates.index(member) for member in members]
    size = len(group.candidates)
    raw = {
        key: [value[p] for p in positions] if isinstance(value, list) and len(value) == size else value
        for key, value in group.raw.items()
    }
    if group.scores is not None:
        raw["scores"] = [group.scores[p] for p in positions]
    return raw


def _pair(group: Group, candidate_keys: Sequence[str]) -> PlannedItem:
    first, second = group.candidates
    preference = group.preference
    if group.verdict_in_order and int(content_key(candidate_keys[first], candidate_keys[second])[0], 16) % 2:
        first, second = second, first
        preference = SWAPPED[preference] if preference is not None else None
    value = {"choice": preference} if preference is not None else None
    return PlannedItem((first, second), value, _subset_raw(group, (first, second)))


def _scored_pairs(group: Group) -> Iterator[PlannedItem]:
    for first, second in itertools.combinations(group.candidates, 2):
        raw = _subset_raw(group, (first, second))
        high, low = raw["scores"]
        value = None
        if high is not None and low is not None:
            value = {"choice": "a" if high > low else "b" if low > high else "tie"}
        yield PlannedItem((first, second), value, raw)


def _ranking(group: Group) -> PlannedItem:
    scores = group.scores or ()
    value = None
    if all(score is not None for score in scores):
        order = sorted(range(len(scores)), key=lambda index: -(scores[index] or 0.0))  # stable: ties in order
        value = {"order": order, "top": order[0]}
    return PlannedItem(group.candidates, value, _subset_raw(group, group.candidates))


def _alone(scores: Sequence[float], best: bool) -> int | None:
    extreme = max(scores) if best else min(scores)
    found = [index for index, score in enumerate(scores) if score == extreme]
    return found[0] if len(found) == 1 else None


def _set(group: Group) -> PlannedItem:
    scores = group.scores or ()
    value = None
    if scores and all(score is not None for score in scores):
        known = [float(score or 0.0) for score in scores]
        picks = {"best": _alone(known, best=True), "worst": _alone(known, best=False)}
        value = {key: index for key, index in picks.items() if index is not None} or None
    return PlannedItem(group.candidates, value, _subset_raw(group, group.candidates))


def planned_items(row: ImportRow, kind: str) -> Iterator[PlannedItem]:
    """The items `row` makes in a campaign of `kind` (already checked against KINDS_FOR_GROUPS)."""
    if kind in PER_ANSWER:
        members = dict.fromkeys(member for group in row.groups for member in group.candidates)
        for member in members:
            yield PlannedItem((member,))
        return
    for group in row.groups:
        if group.scores is None:
            yield _pair(group, row.candidate_keys)
        elif kind == PAIRWISE:
            yield from _scored_pairs(group)
        elif kind == RANKING:
            yield _ranking(group)
        else:
            yield _set(group)
