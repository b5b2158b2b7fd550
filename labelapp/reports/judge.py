"""How well an AI judge agrees with the humans: Cohen's kappa between its verdict and the labellers'
aggregate on the same items, with every count that explains what was compared.

On pairwise items the judge answers a, b or tie; on correctness items, correct or incorrect. Items whose
humans' majority is an answer the judge cannot give ("both bad", "can't tell") are counted but not
compared, nor are items without a human majority or with an unparseable judge answer.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from labelapp.reports.agreement import KappaResult, cohen_kappa

PAIRWISE_CHOICES = ("a", "b", "tie")
CORRECTNESS_CHOICES = ("correct", "incorrect")


@dataclass(frozen=True)
class JudgeAgreement:
    judge: str
    judged: int  # items the judge answered, parseable or not
    parse_errors: int
    compared: int  # items with a parsed verdict and a human majority among the judge's choices
    human_unlabelled: int  # judged items no human has labelled
    human_no_majority: int  # judged items whose labellers split evenly
    human_outside_choices: int  # judged items whose humans chose what the judge cannot: both bad, can't tell
    kappa: KappaResult  # first rater: the humans; second: the judge


def judge_agreement(
    judge: str,
    verdicts: Mapping[int, str | None],
    human: Mapping[int, str | None],
    *,
    choices: tuple[str, ...] = PAIRWISE_CHOICES,
) -> JudgeAgreement:
    """`verdicts`: item -> the judge's choice, None when unparseable; `human`: item -> majority choice,
    None when split. Items missing from `human` have no human label."""
    parsed = {item: choice for item, choice in verdicts.items() if choice is not None}
    labelled = {item: human[item] for item in verdicts if item in human}
    pairs = [
        (labelled[item], choice) for item, choice in sorted(parsed.items()) if labelled.get(item) in choices
    ]
    return JudgeAgreement(
        judge=judge,
        judged=len(verdicts),
        parse_errors=len(verdicts) - len(parsed),
        compared=len(pairs),
        human_unlabelled=len(verdicts) - len(labelled),
        human_no_majority=sum(choice is None for choice in labelled.values()),
        human_outside_choices=sum(
            choice is not None and choice not in choices for choice in labelled.values()
        ),
        kappa=cohen_kappa(pairs, values=choices),
    )
