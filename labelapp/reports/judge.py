"""How well an AI judge agrees with the humans: Cohen's kappa between its verdict and the labellers'
aggregate on the same items, with every count that explains what was compared; how often its verdicts in
the two orders an item was shown in disagree; and its agreement with the humans by where the humans'
preferred answer was shown to it and by its own confidence.

On pairwise items the judge answers a, b or tie; on correctness items, correct or incorrect; on set-wise
items the best sample is compared, on ranking items the first. Items whose humans' majority is an answer
the judge cannot give ("both bad", "can't tell") are counted but not compared, nor are items without a
human majority or with an unparseable judge answer. Kappa is over the verdicts given in the order
labellers see; the position and confidence tables count the verdicts in both orders.
"""

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labelapp.kinds import correctness, pairwise, ranking, setwise
from labelapp.reports.agreement import KappaResult, cohen_kappa

PAIRWISE_CHOICES = ("a", "b", "tie")
CORRECTNESS_CHOICES = ("correct", "incorrect")
AS_SHOWN, REVERSED = False, True  # JudgeLabel.order_reversed
# The orders a judge sees an item in: one answer has only one; several are also shown reversed.
JUDGE_ORDERS = {
    pairwise.NAME: (AS_SHOWN, REVERSED),
    correctness.NAME: (AS_SHOWN,),
    setwise.NAME: (AS_SHOWN, REVERSED),
    ranking.NAME: (AS_SHOWN, REVERSED),
}
# The fields of a judge's canonical value that say what it chose; two orders' verdicts agree when these do.
JUDGED_ANSWER_FIELDS = {
    pairwise.NAME: ("choice",),
    correctness.NAME: ("verdict",),
    setwise.NAME: ("best", "worst"),
    ranking.NAME: ("order",),
}


def judged_answer(kind: str, value: Mapping[str, Any]) -> Hashable:
    """What a verdict chose, comparable between the two orders an item was judged in."""
    return tuple(_hashable(value[field]) for field in JUDGED_ANSWER_FIELDS[kind])


def _hashable(answer: Any) -> Hashable:
    return tuple(answer) if isinstance(answer, list) else answer


def order_consistent(kind: str, values: Mapping[bool, Mapping[str, Any] | None]) -> bool | None:
    """`values`: order_reversed -> the canonical verdict (None: did not parse). True when every order the kind
    is judged in has a parsed verdict and they chose the same; None when one is missing or did not parse."""
    verdicts = [values.get(order) for order in JUDGE_ORDERS[kind]]
    if any(verdict is None for verdict in verdicts):
        return None
    return len({judged_answer(kind, verdict) for verdict in verdicts if verdict is not None}) == 1


CONFIDENCE_EDGES = (0.0, 0.5, 0.7, 0.9, 1.0)  # bins [0, 0.5), [0.5, 0.7), [0.7, 0.9), [0.9, 1]


@dataclass(frozen=True)
class Verdict:
    """One verdict of a judge on one item in one order, as the report compares it."""

    item_id: int
    order_reversed: bool
    answer: Hashable | None  # the canonical answer compared with the humans'; None when it did not parse
    judged: Hashable | None  # `judged_answer`, compared between the two orders; None when it did not parse
    confidence: float | None  # None without logprobs
    human_first: bool | None  # the humans' preferred answer was shown to the judge first (True) or later
    # (False) in this order; None where the humans prefer none (a tie, a split) or the item has one answer


@dataclass(frozen=True)
class Agreed:
    """Verdicts compared with the humans' majority, and how many of them matched it."""

    label: str
    compared: int
    agreed: int

    @property
    def rate(self) -> float | None:
        return self.agreed / self.compared if self.compared else None


@dataclass(frozen=True)
class JudgeAgreement:
    judge: str
    # On the verdicts given in the order labellers see (the first one the judge gives):
    judged: int  # items the judge answered, parseable or not
    parse_errors: int
    compared: int  # items with a parsed verdict and a human majority among the judge's choices
    human_unlabelled: int  # judged items no human has labelled
    human_no_majority: int  # judged items whose labellers split evenly
    human_outside_choices: int  # judged items whose humans chose what the judge cannot: both bad, can't tell
    kappa: KappaResult  # first rater: the humans; second: the judge
    # On the verdicts in both orders:
    both_orders: int  # items with a parsed verdict in each of their orders (items of one answer: none)
    order_inconsistent: int  # of those, items whose two verdicts chose differently
    by_position: tuple[Agreed, ...]  # verdicts where the humans' preferred answer was shown first, later
    by_confidence: tuple[Agreed, ...]  # verdicts by the judge's confidence, low to high; then "no logprobs"

    @property
    def order_inconsistency_rate(self) -> float | None:
        return self.order_inconsistent / self.both_orders if self.both_orders else None


def _confidence_label(confidence: float | None) -> str:
    if confidence is None:
        return "no logprobs"
    edges = CONFIDENCE_EDGES
    for low, high in zip(edges, edges[1:], strict=False):
        if confidence < high:
            return f"{low:.1f}–{high:.1f}"
    return f"{edges[-2]:.1f}–{edges[-1]:.1f}"


CONFIDENCE_LABELS = tuple(_confidence_label(edge) for edge in CONFIDENCE_EDGES[:-1]) + ("no logprobs",)


def _agreed(label: str, matches: list[bool]) -> Agreed:
    return Agreed(label=label, compared=len(matches), agreed=sum(matches))


def judge_agreement(
    judge: str,
    verdicts: Sequence[Verdict],
    human: Mapping[int, Hashable | None],
    *,
    choices: tuple[Hashable, ...] = PAIRWISE_CHOICES,
) -> JudgeAgreement:
    """`verdicts`: the judge's verdicts in every order; `human`: item -> majority answer, None when split.
    Items missing from `human` have no human label."""
    shown = {v.item_id: v.answer for v in verdicts if not v.order_reversed}
    parsed = {item: answer for item, answer in shown.items() if answer is not None}
    labelled = {item: human[item] for item in shown if item in human}
    pairs = [
        (labelled[item], answer) for item, answer in sorted(parsed.items()) if labelled.get(item) in choices
    ]
    judged_by_item: dict[int, list[Hashable]] = {}
    for v in verdicts:
        if v.judged is not None:
            judged_by_item.setdefault(v.item_id, []).append(v.judged)
    both = [answers for answers in judged_by_item.values() if len(answers) == 2]
    compared = [v for v in verdicts if v.answer is not None and human.get(v.item_id) in choices]
    return JudgeAgreement(
        judge=judge,
        judged=len(shown),
        parse_errors=len(shown) - len(parsed),
        compared=len(pairs),
        human_unlabelled=len(shown) - len(labelled),
        human_no_majority=sum(answer is None for answer in labelled.values()),
        human_outside_choices=sum(
            answer is not None and answer not in choices for answer in labelled.values()
        ),
        kappa=cohen_kappa(pairs, values=choices),
        both_orders=len(both),
        order_inconsistent=sum(1 for first, second in both if first != second),
        by_position=tuple(
            _agreed(label, [v.answer == human[v.item_id] for v in compared if v.human_first is first])
            for label, first in (("shown first", True), ("shown later", False))
        ),
        by_confidence=tuple(
            _agreed(
                label,
                [v.answer == human[v.item_id] for v in compared if _confidence_label(v.confidence) == label],
            )
            for label in CONFIDENCE_LABELS
        ),
    )
