"""Judgements read together: correctness and coherence labels of the same candidates, joined by candidate;
and an AI judge's verdict where it is sure enough to stand in for some human labels.

The research question behind the two kinds: of a model's answers, how many are incoherent, how many are
coherent but wrong, how many correct. A coherence campaign built from a correctness campaign's candidates
(`build_items --source-campaign`) judges the very same answers; this joins the two by candidate.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labelapp.errors import ApplicationError
from labelapp.kinds import coherence, correctness, pairwise
from labelapp.kinds.coherence import CoherenceAggregate
from labelapp.kinds.correctness import CorrectnessAggregate
from labelapp.models import Campaign, Item, JudgeLabel, Label
from labelapp.reports.judge import JUDGE_ORDERS, judged_answer, order_consistent

# A verdict the model gave at least this probability (exp of its answer's logprob sum) counts as confident;
# below it, or without logprobs, the judge pre-labels nothing.
JUDGE_PRELABEL_MIN_CONFIDENCE = 0.9


@dataclass(frozen=True)
class CandidateJudgement:
    candidate_id: int
    prompt_id: int
    generator: str
    correctness: CorrectnessAggregate | None  # None where the correctness campaign has no label of it
    coherence: CoherenceAggregate | None  # None where the coherence campaign has no label of it


@dataclass(frozen=True)
class _CandidateLabels:
    prompt_id: int
    generator: str
    values: list[Mapping[str, Any]]


def _labels_by_candidate(campaign: Campaign) -> dict[int, _CandidateLabels]:
    """Every label of the campaign's non-gold items (gold labels never reach reports), by candidate."""
    rows = (
        Label.objects.filter(item__campaign=campaign, item__is_gold=False)
        .order_by("pk")
        .values_list(
            "item__slots__candidate_id",
            "item__slots__candidate__prompt_id",
            "item__slots__candidate__generator__name",
            "value",
        )
    )
    by_candidate: dict[int, _CandidateLabels] = {}
    for candidate_id, prompt_id, generator, value in rows:
        by_candidate.setdefault(candidate_id, _CandidateLabels(prompt_id, generator, [])).values.append(value)
    return by_candidate


def _kind_check(campaign: Campaign, kind: str, field: str) -> None:
    if campaign.kind != kind:
        raise ApplicationError(
            f"Field '{field}' must be a {kind} campaign; '{campaign.name}' is a {campaign.kind} campaign.",
            {"field": field},
        )


def candidate_judgements(
    *, correctness_campaign: Campaign, coherence_campaign: Campaign
) -> list[CandidateJudgement]:
    """Each candidate labelled in either campaign with both aggregated judgements, by candidate id."""
    _kind_check(correctness_campaign, correctness.NAME, "correctness_campaign")
    _kind_check(coherence_campaign, coherence.NAME, "coherence_campaign")
    for_correctness = _labels_by_candidate(correctness_campaign)
    for_coherence = _labels_by_candidate(coherence_campaign)
    judgements = []
    for candidate_id in sorted(for_correctness.keys() | for_coherence.keys()):
        graded, read = for_correctness.get(candidate_id), for_coherence.get(candidate_id)
        described = graded or for_coherence[candidate_id]
        judgements.append(
            CandidateJudgement(
                candidate_id=candidate_id,
                prompt_id=described.prompt_id,
                generator=described.generator,
                correctness=correctness.aggregate(graded.values) if graded else None,
                coherence=coherence.aggregate(read.values) if read else None,
            )
        )
    return judgements


def judge_prelabel_value(*, item: Item) -> dict[str, Any] | None:
    """The canonical value an AI judge gives the item where it can stand in for a human label: judged in
    every order the kind is judged in (both, for several answers), choosing the same in each, each verdict
    at confidence >= JUDGE_PRELABEL_MIN_CONFIDENCE. Where several judges qualify they must choose the same;
    None otherwise. The value is the verdict in the order labellers see."""
    orders = JUDGE_ORDERS.get(item.kind)
    if orders is None:
        return None
    by_judge: dict[int, dict[bool, Any]] = {}
    for generator_id, order_reversed, value in JudgeLabel.objects.filter(
        item=item, value__isnull=False, confidence__gte=JUDGE_PRELABEL_MIN_CONFIDENCE
    ).values_list("generator_id", "order_reversed", "value"):
        by_judge.setdefault(generator_id, {})[order_reversed] = value
    sure = [verdicts[orders[0]] for verdicts in by_judge.values() if order_consistent(item.kind, verdicts)]
    if len({judged_answer(item.kind, value) for value in sure}) != 1:
        return None
    if item.kind == pairwise.NAME and sure[0].get("choice") == "tie":  # a tie decides nothing
        return None
    return dict(sure[0])
