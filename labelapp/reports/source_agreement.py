"""How well an imported dataset's own verdicts agree with the labellers who relabelled its items: Cohen's
kappa between each source (HH-RLHF's chosen answer, SHP's upvotes, an Arena vote) and the labellers'
majority on the same items, the counts behind it, and the items where the two differ.

Compared are items where the source gives a verdict and the labellers a majority; items not labelled yet
or split evenly are counted, not compared.
"""

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from labelapp.reports.agreement import KappaResult, cohen_kappa


@dataclass(frozen=True)
class HumanAnswer:
    answer: Hashable | None  # the labellers' majority; None when they split evenly
    labels: int


@dataclass(frozen=True)
class Difference:
    item_id: int
    source_answer: Hashable
    human_answer: Hashable
    labels: int  # human labels behind the majority
    prompt: str = ""  # the start of the item's prompt, to recognise it (the selector fills it in)


@dataclass(frozen=True)
class SourceAgreement:
    source: str
    items: int  # items the source gave a verdict on
    compared: int
    human_unlabelled: int
    human_no_majority: int
    kappa: KappaResult  # first rater: the humans; second: the source
    differences: tuple[Difference, ...]  # by item


def source_agreement(
    source: str,
    verdicts: Mapping[int, Hashable],
    human: Mapping[int, HumanAnswer],
    *,
    values: Sequence[Hashable],
) -> SourceAgreement:
    """`verdicts`: item -> the source's answer; `human`: item -> the labellers' majority and how many
    labels it is of, for labelled items; `values`: every answer either may give, in the confusion
    matrix's order."""
    labelled = {item: human[item] for item in verdicts if item in human}
    compared = sorted(item for item, answer in labelled.items() if answer.answer is not None)
    differences = tuple(
        Difference(item, verdicts[item], labelled[item].answer, labelled[item].labels)
        for item in compared
        if verdicts[item] != labelled[item].answer
    )
    return SourceAgreement(
        source=source,
        items=len(verdicts),
        compared=len(compared),
        human_unlabelled=len(verdicts) - len(labelled),
        human_no_majority=sum(answer.answer is None for answer in labelled.values()),
        kappa=cohen_kappa([(labelled[item].answer, verdicts[item]) for item in compared], values=values),
        differences=differences,
    )
