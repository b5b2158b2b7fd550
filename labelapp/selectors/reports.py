"""Reads for the research reports: labels and judge verdicts as the narrow rows the reports compute on.

Each function reads a campaign's non-gold items of one kind in a fixed number of queries (never free text
such as rationales), and aggregates labels per item with the kind's own `aggregate`.
"""

import dataclasses
import itertools
from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np

from labelapp.errors import ApplicationError
from labelapp.kinds import coherence, correctness, kind_get, pairwise, ranking, set_vs_set, setwise
from labelapp.kinds.base import majority
from labelapp.models import (
    Campaign,
    Candidate,
    CandidateEmbedding,
    Item,
    ItemCandidate,
    JudgeLabel,
    Label,
    Prompt,
    SourceLabel,
)
from labelapp.reports.calibration import (
    CalibrationCandidate,
    CalibrationReport,
    LabellerCalibrationReport,
    StatedConfidence,
    calibration_report,
    labeller_calibration_report,
)
from labelapp.reports.coherence import CandidateVerdicts, GeneratorCoherence, coherence_report
from labelapp.reports.diversity import CompletionSet, DiversityReport, diversity_report
from labelapp.reports.embeddings import EMBEDDING_MODEL, text_sha256, vector_from_bytes
from labelapp.reports.judge import (
    CORRECTNESS_CHOICES,
    PAIRWISE_CHOICES,
    JudgeAgreement,
    Verdict,
    judge_agreement,
    judged_answer,
)
from labelapp.reports.leaderboard import LeaderboardReport, PairOutcome, Player, leaderboard_report
from labelapp.reports.position_bias import PositionBiasReport, PositionDecision, position_bias_report
from labelapp.reports.source_agreement import HumanAnswer, SourceAgreement, source_agreement
from labelapp.selectors.judgements import candidate_judgements

PAIRWISE = "pairwise"
# The value field a judge's verdict is compared with the humans' on.
JUDGED_FIELDS = {PAIRWISE: "choice", correctness.NAME: "verdict", setwise.NAME: "best", ranking.NAME: "top"}
JUDGE_CHOICES = {PAIRWISE: PAIRWISE_CHOICES, correctness.NAME: CORRECTNESS_CHOICES}


def _work_items(campaign: Campaign, kind: str) -> dict:
    return {"item__campaign": campaign, "item__kind": kind, "item__is_gold": False}


def human_majorities(*, campaign: Campaign, kind: str) -> dict[int, str | None]:
    """Item id -> the labellers' aggregate answer (None when split), for labelled non-gold items of `kind`:
    the pairwise choice, or the correctness verdict."""
    field = JUDGED_FIELDS[kind]  # pairwise or correctness
    answers: dict[int, list[dict]] = defaultdict(list)
    rows = (
        Label.objects.filter(**_work_items(campaign, kind))
        .order_by()
        .values_list("item_id", f"value__{field}")
    )
    for item_id, answer in rows:
        answers[item_id].append({field: answer})
    aggregate = kind_get(kind).aggregate
    return {item_id: getattr(aggregate(values), field) for item_id, values in answers.items()}


def pairwise_majorities(*, campaign: Campaign) -> dict[int, str | None]:
    return human_majorities(campaign=campaign, kind=PAIRWISE)


def _players(campaign: Campaign, kind: str) -> dict[int, dict[int, Player]]:
    """Item id -> canonical index -> the player (generator, params, step, best-of-N selection) of the
    candidate there."""
    players: dict[int, dict[int, Player]] = defaultdict(dict)
    slots = (
        ItemCandidate.objects.filter(**_work_items(campaign, kind))
        .order_by()
        .values_list(
            "item_id",
            "index",
            "candidate__generator__name",
            "candidate__params",
            "candidate__step",
            "candidate__selection",
        )
    )
    for item_id, index, generator, params, step, selection in slots:
        players[item_id][index] = Player(
            generator=generator, params=params or {}, step=step, selection=_selection_name(selection)
        )
    return players


def _selection_name(selection: dict | None) -> str:
    """ "best-of-8 by logprob" for an answer a best-of-N job selected; "" for any other."""
    if not selection or not selection.get("selected"):
        return ""
    return f"best-of-{selection['n']} by {selection['method']}"


def _unlabelled(campaign: Campaign, kind: str, labelled: int) -> int:
    return Item.objects.filter(campaign=campaign, kind=kind, is_gold=False).count() - labelled


def pairwise_outcomes(*, campaign: Campaign) -> tuple[list[PairOutcome], int]:
    """Every labelled non-gold pairwise item with its two players; and how many items have no label yet."""
    majorities = pairwise_majorities(campaign=campaign)
    players = _players(campaign, PAIRWISE)
    outcomes = [
        PairOutcome(item_id=item_id, first=players[item_id][0], second=players[item_id][1], choice=choice)
        for item_id, choice in sorted(majorities.items())
    ]
    return outcomes, _unlabelled(campaign, PAIRWISE, len(majorities))


def ranking_outcomes(*, campaign: Campaign) -> tuple[list[PairOutcome], int]:
    """Each labelled ranking item's consensus (ranked pairs) as pairs: the winner of each pair the
    consensus keeps with a margin of at least one labeller, and the other pairs of its candidates as
    pairs without a majority; and how many items have no label yet."""
    orders: dict[int, list[dict]] = defaultdict(list)
    for item_id, order in (
        Label.objects.filter(**_work_items(campaign, ranking.NAME))
        .order_by("pk")
        .values_list("item_id", "value__order")
    ):
        orders[item_id].append({"order": order})
    players = _players(campaign, ranking.NAME)
    outcomes = []
    for item_id, values in sorted(orders.items()):
        consensus = ranking.aggregate(values)
        decided = {(winner, loser) for winner, loser, _ in ranking.consensus_pairs(consensus)}
        for first, second in itertools.combinations(consensus.order, 2):
            choice = "a" if (first, second) in decided else None
            outcomes.append(PairOutcome(item_id, players[item_id][first], players[item_id][second], choice))
    return outcomes, _unlabelled(campaign, ranking.NAME, len(orders))


SET_SIDES = {"x": "a", "y": "b", "tie": "tie"}


def set_vs_set_outcomes(*, campaign: Campaign) -> tuple[list[PairOutcome], int]:
    """Each labelled set-vs-set item as one comparison of the two sets' players (X's set first): the
    labellers' majority preferred set; and how many items have no label yet."""
    preferred: dict[int, list[dict]] = defaultdict(list)
    for item_id, side in (
        Label.objects.filter(**_work_items(campaign, set_vs_set.NAME))
        .order_by()
        .values_list("item_id", "value__preferred")
    ):
        preferred[item_id].append({"preferred": side, "more_diverse": None})
    players = _players(campaign, set_vs_set.NAME)
    outcomes = []
    for item_id, values in sorted(preferred.items()):
        sides = players[item_id]
        choice = set_vs_set.aggregate(values).preferred
        outcomes.append(PairOutcome(item_id, sides[0], sides[len(sides) // 2], SET_SIDES.get(choice or "")))
    return outcomes, _unlabelled(campaign, set_vs_set.NAME, len(preferred))


LEADERBOARD_SOURCES = {
    PAIRWISE: pairwise_outcomes,
    ranking.NAME: ranking_outcomes,
    set_vs_set.NAME: set_vs_set_outcomes,
}


def leaderboard_report_for(*, campaign: Campaign, bootstrap_samples: int, seed: int) -> LeaderboardReport:
    outcomes, unlabelled = LEADERBOARD_SOURCES[campaign.kind](campaign=campaign)
    return leaderboard_report(
        outcomes, source=campaign.kind, unlabelled=unlabelled, bootstrap_samples=bootstrap_samples, seed=seed
    )


@dataclass(frozen=True)
class JudgeReport:
    item_kind: str  # pairwise, correctness, setwise or ranking
    field: str  # the value field compared with the humans: choice, verdict, best or top
    choices: tuple[Hashable, ...]  # what the judge may answer, in the confusion matrix's order
    judges: tuple[JudgeAgreement, ...]  # one per generator that judged this campaign, by name


def _judge_human_answers(campaign: Campaign) -> dict[int, Hashable | None]:
    """Item id -> the labellers' majority on the field the judge is compared on; None when split."""
    if campaign.kind == correctness.NAME:
        return dict(human_majorities(campaign=campaign, kind=correctness.NAME))
    return {item_id: human.answer for item_id, human in _human_answers(campaign, campaign.kind).items()}


def _human_preferred_index(kind: str, answer: Hashable | None) -> int | None:
    """The canonical index of the answer the humans preferred, where they preferred one of several."""
    if kind == PAIRWISE:
        return "ab".index(answer) if answer in ("a", "b") else None
    return answer if isinstance(answer, int) and kind != correctness.NAME else None


def judge_verdicts(*, campaign: Campaign, human: Mapping[int, Hashable | None]) -> dict[str, list[Verdict]]:
    """Judge generator name -> its verdicts on the campaign's non-gold items, in every order, with where the
    humans' preferred answer (from `human`) was shown to it."""
    kind, field = campaign.kind, JUDGED_FIELDS[campaign.kind]
    positions: dict[int, dict[int, int]] = defaultdict(dict)
    for item_id, index, position in (
        ItemCandidate.objects.filter(**_work_items(campaign, kind))
        .order_by()
        .values_list("item_id", "index", "position")
    ):
        positions[item_id][index] = position
    verdicts: dict[str, list[Verdict]] = defaultdict(list)
    rows = (
        JudgeLabel.objects.filter(**_work_items(campaign, kind))
        .order_by("generator__name", "item_id", "order_reversed")
        .values_list("generator__name", "item_id", "order_reversed", "value", "confidence")
    )
    for generator, item_id, order_reversed, value, confidence in rows:
        preferred = _human_preferred_index(kind, human.get(item_id))
        human_first = None
        if preferred is not None:
            shown_at = positions[item_id][preferred]
            human_first = (len(positions[item_id]) - 1 - shown_at if order_reversed else shown_at) == 0
        verdicts[generator].append(
            Verdict(
                item_id=item_id,
                order_reversed=order_reversed,
                answer=None if value is None else value[field],
                judged=None if value is None else judged_answer(kind, value),
                confidence=confidence,
                human_first=human_first,
            )
        )
    return dict(verdicts)


def _judge_choices(campaign: Campaign) -> tuple[Hashable, ...]:
    if campaign.kind in JUDGE_CHOICES:
        return JUDGE_CHOICES[campaign.kind]
    indices = ItemCandidate.objects.filter(**_work_items(campaign, campaign.kind)).values_list(
        "index", flat=True
    )
    return tuple(sorted(set(indices)))


def judge_report_for(*, campaign: Campaign) -> JudgeReport:
    choices = _judge_choices(campaign)
    human = _judge_human_answers(campaign)
    return JudgeReport(
        item_kind=campaign.kind,
        field=JUDGED_FIELDS[campaign.kind],
        choices=choices,
        judges=tuple(
            judge_agreement(name, verdicts, human, choices=choices)
            for name, verdicts in judge_verdicts(campaign=campaign, human=human).items()
        ),
    )


POSITION_FIELDS = {PAIRWISE: "choice", ranking.NAME: "order"}  # the label field that picks a position


def _picked_first(kind: str, picked: object, shown_order: list[int]) -> bool | None:
    """Whether a canonical answer picked the candidate shown first; None where it picked no position (a
    pairwise tie or "both bad")."""
    if kind == PAIRWISE:
        return None if picked not in ("a", "b") else "ab".index(cast(str, picked)) == shown_order[0]
    return cast(list[int], picked)[0] == shown_order[0]  # a ranking's best


def judge_shown_orders(*, campaign: Campaign) -> dict[int, list[int]]:
    """JudgeLabel id -> the canonical index the judge was shown at each position: its item's own order
    (ItemCandidate.position), reversed for the verdict given in the reversed order."""
    item_orders: dict[int, list[int]] = defaultdict(list)
    for item_id, index in (
        ItemCandidate.objects.filter(item__campaign=campaign, item__judge_labels__isnull=False)
        .distinct()
        .order_by("item_id", "position")
        .values_list("item_id", "index")
    ):
        item_orders[item_id].append(index)
    return {
        pk: item_orders[item_id][::-1] if order_reversed else item_orders[item_id]
        for pk, item_id, order_reversed in JudgeLabel.objects.filter(item__campaign=campaign).values_list(
            "pk", "item_id", "order_reversed"
        )
    }


def position_bias_report_for(*, campaign: Campaign) -> PositionBiasReport:
    """Each labeller's and each judge's picks of the first shown answer on a pairwise or ranking campaign,
    gold items included (a position bias shows there too), against chance."""
    kind = campaign.kind
    field = POSITION_FIELDS[kind]
    decisions, without_position = [], 0
    labels = (
        Label.objects.filter(item__campaign=campaign, item__kind=kind)
        .order_by("pk")
        .values_list("labeller__username", f"value__{field}", "shown_order")
    )
    for labeller, picked, shown_order in labels:
        first = _picked_first(kind, picked, shown_order) if shown_order else None
        if first is None:
            without_position += 1
        else:
            decisions.append(PositionDecision(labeller, "labeller", first, 1 / len(shown_order)))
    judge_orders = judge_shown_orders(campaign=campaign)
    verdicts = (
        JudgeLabel.objects.filter(item__campaign=campaign, item__kind=kind, value__isnull=False)
        .order_by("pk")
        .values_list("pk", "generator__name", f"value__{field}")
    )
    for pk, judge, picked in verdicts:
        shown_order = judge_orders[pk]
        first = _picked_first(kind, picked, shown_order)
        if first is not None:
            decisions.append(PositionDecision(judge, "judge", first, 1 / len(shown_order)))
    return position_bias_report(decisions, item_kind=kind, labels_without_position=without_position)


def coherence_campaigns_for(*, campaign: Campaign) -> list[str]:
    """Coherence campaigns judging answers this campaign judges: built from its candidates, or both built
    from the same campaign's (`build_items --source-campaign`)."""
    return list(
        Campaign.objects.filter(kind=coherence.NAME, items__slots__candidate__slots__item__campaign=campaign)
        .distinct()
        .order_by("name")
        .values_list("name", flat=True)
    )


def _coherence_campaign_choose(campaign: Campaign, name: str | None, built_from_it: list[str]) -> Campaign:
    """The named coherence campaign, or the only one judging `campaign`'s answers when none is named."""
    allowed = {"field": "coherence_campaign", "allowed": built_from_it}
    if name is None:
        if len(built_from_it) == 1:
            return Campaign.objects.get(name=built_from_it[0])
        if not built_from_it:
            source = (
                Item.objects.filter(campaign=campaign)
                .values_list("prompt__campaign__name", flat=True)
                .first()
            )
            raise ApplicationError(
                f"No coherence campaign judges the answers of '{campaign.name}' yet: build one from the same "
                f"candidates with build_items --campaign NAME --kind coherence --source-campaign "
                f"{source or campaign.name}.",
                allowed,
            )
        raise ApplicationError(
            f"Field 'coherence_campaign': choose the coherence campaign to join, one of {', '.join(built_from_it)}.",
            allowed,
        )
    if name not in built_from_it:
        raise ApplicationError(
            f"Field 'coherence_campaign' must name a coherence campaign judging the answers of "
            f"'{campaign.name}' ({', '.join(built_from_it) or 'none yet'}), not '{name}'.",
            allowed,
        )
    return Campaign.objects.get(name=name)


def _verdict_is(value: str | None, yes: str, no: str) -> bool | None:
    return {yes: True, no: False}.get(value or "")


@dataclass(frozen=True)
class CoherentButWrongCase:
    """An answer its coherence labellers passed and its correctness labellers failed: one to read."""

    candidate_id: int
    generator: str
    prompt: str
    reference_answer: str
    answer: str
    critiques: tuple[str, ...]  # the correctness labellers' critiques that say something
    error_categories: Mapping[str, int]


@dataclass(frozen=True)
class CoherentButWrongReport:
    coherence_campaign: str
    coherence_campaigns: tuple[str, ...]  # every coherence campaign built from this one's candidates
    generators: tuple[GeneratorCoherence, ...]  # by name
    cases: tuple[CoherentButWrongCase, ...]  # by generator, then candidate


def _coherent_but_wrong_cases(
    campaign: Campaign, rows: tuple[GeneratorCoherence, ...], categories: Mapping[int, Mapping[str, int]]
) -> tuple[CoherentButWrongCase, ...]:
    ids = [candidate_id for row in rows for candidate_id in row.coherent_but_wrong_ids]
    critiques: dict[int, list[str]] = defaultdict(list)
    for candidate_id, critique in (
        Label.objects.filter(item__campaign=campaign, item__is_gold=False, item__slots__candidate_id__in=ids)
        .order_by("pk")
        .values_list("item__slots__candidate_id", "value__critique")
    ):
        if critique:
            critiques[candidate_id].append(critique)
    candidates = Candidate.objects.select_related("prompt", "generator").in_bulk(ids)
    return tuple(
        CoherentButWrongCase(
            candidate_id=candidate_id,
            generator=candidates[candidate_id].generator.name,
            prompt=candidates[candidate_id].prompt.display_text,
            reference_answer=candidates[candidate_id].prompt.reference_answer,
            answer=candidates[candidate_id].text,
            critiques=tuple(critiques[candidate_id]),
            error_categories=categories[candidate_id],
        )
        for candidate_id in ids
    )


def coherent_but_wrong_report_for(
    *, campaign: Campaign, coherence_campaign: str | None
) -> CoherentButWrongReport:
    """Per generator: incoherent, coherent but wrong, and correct answers, from the two campaigns' majorities.

    A verdict counts when the labellers' majority gives one: "can't tell" and even splits count as missing.
    """
    built_from_it = coherence_campaigns_for(campaign=campaign)
    joined = _coherence_campaign_choose(campaign, coherence_campaign, built_from_it)
    judgements = candidate_judgements(correctness_campaign=campaign, coherence_campaign=joined)
    rows = coherence_report(
        [
            CandidateVerdicts(
                candidate_id=j.candidate_id,
                generator=j.generator,
                correct=_verdict_is(j.correctness.verdict if j.correctness else None, "correct", "incorrect"),
                coherent=_verdict_is(j.coherence.verdict if j.coherence else None, "coherent", "incoherent"),
            )
            for j in judgements
        ]
    )
    categories = {j.candidate_id: j.correctness.error_categories for j in judgements if j.correctness}
    return CoherentButWrongReport(
        coherence_campaign=joined.name,
        coherence_campaigns=tuple(built_from_it),
        generators=rows,
        cases=_coherent_but_wrong_cases(campaign, rows, categories),
    )


JUDGED_VERDICTS = ("correct", "incorrect")


def _stated_confidences(
    labels: list[tuple[int, int, str, str | None]], gold: Mapping[int, str | None]
) -> list[StatedConfidence]:
    """Each label with a verdict and a confidence, checked against its item's gold verdict or, on other
    items, the majority of the item's other labellers; labels with no such reference are left out."""
    by_item: dict[int, list[tuple[int, str, str | None]]] = defaultdict(list)
    for item_id, labeller_id, given, confidence in labels:
        by_item[item_id].append((labeller_id, given, confidence))
    stated = []
    for item_id, item_labels in by_item.items():
        for labeller_id, given, confidence in item_labels:
            if given not in JUDGED_VERDICTS or confidence is None:
                continue
            reference = gold.get(item_id)
            if item_id not in gold:
                reference = majority([v for other, v, _ in item_labels if other != labeller_id])[0]
            if reference in JUDGED_VERDICTS:
                stated.append(StatedConfidence(confidence, given == reference, item_id in gold))
    return stated


def calibration_report_for(*, campaign: Campaign) -> CalibrationReport:
    """The model's confidence (mean token logprob) and the labellers' stated confidence against how often
    each turned out right, on a correctness campaign."""
    labels = list(
        Label.objects.filter(item__campaign=campaign, item__kind=correctness.NAME)
        .order_by("item_id", "pk")
        .values_list("item_id", "labeller_id", "value__verdict", "value__confidence")
    )
    gold = {
        item_id: (value or {}).get("verdict")
        for item_id, value in Item.objects.filter(
            campaign=campaign, kind=correctness.NAME, is_gold=True
        ).values_list("pk", "gold_value")
    }
    verdicts: dict[int, list[dict]] = defaultdict(list)
    for item_id, _, given, _ in labels:
        if item_id not in gold:
            verdicts[item_id].append({"verdict": given})
    candidates = [
        CalibrationCandidate(
            generator=generator,
            logprob_mean=logprob_mean,
            correct=_verdict_is(
                correctness.aggregate(verdicts[item_id]).verdict if verdicts[item_id] else None,
                "correct",
                "incorrect",
            ),
        )
        for item_id, generator, logprob_mean in ItemCandidate.objects.filter(
            **_work_items(campaign, correctness.NAME)
        )
        .order_by("item_id")
        .values_list("item_id", "candidate__generator__name", "candidate__logprob_mean")
    ]
    return calibration_report(candidates, _stated_confidences(labels, gold))


def labeller_calibration_report_for(*, campaign: Campaign) -> LabellerCalibrationReport:
    """Each labeller's stated confidence on the campaign's gold items against whether they answered right."""
    stated: list[tuple[str, str, bool]] = []
    without_confidence = 0
    for labeller, confidence, right in (
        Label.objects.filter(item__campaign=campaign, gold_correct__isnull=False)
        .order_by("pk")
        .values_list("labeller__username", "value__confidence", "gold_correct")
    ):
        if confidence is None:
            without_confidence += 1
        else:
            stated.append((labeller, confidence, bool(right)))
    return labeller_calibration_report(stated, item_kind=campaign.kind, without_confidence=without_confidence)


@dataclass(frozen=True)
class CollapsedPrompt:
    """A set in which a generator gave the same answer in every sample."""

    item_id: int
    prompt: str
    generator: str
    temperature: float | None
    answer: str
    samples: int


@dataclass(frozen=True)
class CampaignDiversity:
    embedding_model: str
    candidates: int  # in the campaign's non-gold set-wise items
    candidates_embedded: int  # with a current stored embedding; the rest wait for `report --kind diversity`
    sets_judged: int
    metrics: DiversityReport
    collapsed: tuple[CollapsedPrompt, ...]  # by generator, temperature, then item


@dataclass
class _Set:
    prompt_id: int
    generator: str
    temperature: float | None
    candidate_ids: list[int]
    texts: list[str]


def _stored_embeddings(campaign: Campaign, texts: Mapping[int, str]) -> dict[int, np.ndarray]:
    """Candidate id -> its stored embedding, where the stored one was computed from its current text."""
    rows = CandidateEmbedding.objects.filter(
        model=EMBEDDING_MODEL,
        candidate__slots__item__campaign=campaign,
        candidate__slots__item__kind=setwise.NAME,
        candidate__slots__item__is_gold=False,
    ).values_list("candidate_id", "text_sha256", "vector")
    return {
        candidate_id: vector_from_bytes(vector)
        for candidate_id, sha, vector in rows
        if candidate_id in texts and sha == text_sha256(texts[candidate_id])
    }


def diversity_report_for(*, campaign: Campaign) -> CampaignDiversity:
    """Human diversity ratings of each set-wise item beside the automatic metrics of the same set.

    Nothing is embedded here: embedding distance and Vendi come from stored embeddings
    (services.embeddings), so a set with a candidate not embedded yet has only the lexical metrics.
    """
    sets: dict[int, _Set] = {}
    for item_id, prompt_id, candidate_id, text, generator, params in (
        ItemCandidate.objects.filter(**_work_items(campaign, setwise.NAME))
        .order_by("item_id", "index")
        .values_list(
            "item_id",
            "item__prompt_id",
            "candidate_id",
            "candidate__text",
            "candidate__generator__name",
            "candidate__params",
        )
    ):
        found = sets.setdefault(
            item_id, _Set(prompt_id, generator, (params or {}).get("temperature"), [], [])
        )
        found.candidate_ids.append(candidate_id)
        found.texts.append(text)
    ratings: dict[int, list[dict]] = defaultdict(list)
    for item_id, value in (
        Label.objects.filter(**_work_items(campaign, setwise.NAME))
        .order_by("pk")
        .values_list("item_id", "value")
    ):
        ratings[item_id].append(value)
    texts = {
        cid: text for one in sets.values() for cid, text in zip(one.candidate_ids, one.texts, strict=True)
    }
    stored = _stored_embeddings(campaign, texts)
    completion_sets = [
        CompletionSet(
            prompt_id=one.prompt_id,
            generator=one.generator,
            temperature=one.temperature,
            texts=tuple(one.texts),
            human_diversity=setwise.aggregate(ratings[item_id]).diversity_mean if ratings[item_id] else None,
            item_id=item_id,
        )
        for item_id, one in sets.items()
    ]
    metrics = diversity_report(
        completion_sets,
        embeddings=[
            np.stack([stored[cid] for cid in one.candidate_ids])
            if all(cid in stored for cid in one.candidate_ids)
            else None
            for one in sets.values()
        ],
    )
    collapsed = sorted(
        (row for row in metrics.sets if row.all_identical),
        key=lambda row: (row.generator, row.temperature is None, row.temperature or 0, row.item_id),
    )
    prompts = Prompt.objects.in_bulk([row.prompt_id for row in collapsed])
    return CampaignDiversity(
        embedding_model=EMBEDDING_MODEL,
        candidates=len(texts),
        candidates_embedded=len(stored),
        sets_judged=sum(1 for row in metrics.sets if row.human_diversity is not None),
        metrics=metrics,
        collapsed=tuple(
            CollapsedPrompt(
                item_id=cast(int, row.item_id),  # every set here was read from an item
                prompt=prompts[row.prompt_id].display_text,
                generator=row.generator,
                temperature=row.temperature,
                answer=sets[cast(int, row.item_id)].texts[0].strip(),
                samples=row.size,
            )
            for row in collapsed
        ),
    )


# The label field a source's verdict is compared on, per item kind, and the answers it may hold.
SOURCE_FIELDS = {PAIRWISE: "choice", ranking.NAME: "top", setwise.NAME: "best"}
SOURCE_VALUES = {
    PAIRWISE: pairwise.CHOICES,
    ranking.NAME: tuple(range(ranking.CANDIDATE_COUNTS.stop - 1)),
    setwise.NAME: tuple(range(setwise.CANDIDATE_COUNTS.stop - 1)),
}
PROMPT_EXCERPT_CHARS = 160


def _human_answers(campaign: Campaign, kind: str) -> dict[int, HumanAnswer]:
    """Item id -> the labellers' majority on the field sources are compared on: the pairwise choice, the
    ranking's consensus best (when it beats every other by a majority), the set-wise best."""
    field = "order" if kind == ranking.NAME else SOURCE_FIELDS[kind]
    values: dict[int, list] = defaultdict(list)
    for item_id, value in (
        Label.objects.filter(**_work_items(campaign, kind))
        .order_by("pk")
        .values_list("item_id", f"value__{field}")
    ):
        values[item_id].append(value)
    answers = {}
    for item_id, given in values.items():
        answer: Hashable | None
        if kind == ranking.NAME:
            consensus = ranking.aggregate([{"order": order} for order in given])
            answer = consensus.order[0] if consensus.clear_top else None
        elif kind == PAIRWISE:
            answer = pairwise.aggregate([{"choice": choice} for choice in given]).choice
        else:
            answer = majority([best for best in given if best is not None])[0]
        answers[item_id] = HumanAnswer(answer, len(given))
    return answers


def source_verdicts(*, campaign: Campaign) -> dict[str, dict[int, object]]:
    """Source name -> item id -> its verdict on the compared field, for the campaign's non-gold items."""
    verdicts: dict[str, dict[int, object]] = defaultdict(dict)
    for source, item_id, answer in (
        SourceLabel.objects.filter(**_work_items(campaign, campaign.kind))
        .order_by("source", "item_id")
        .values_list("source", "item_id", f"value__{SOURCE_FIELDS[campaign.kind]}")
    ):
        if answer is not None:
            verdicts[source][item_id] = answer
    return dict(verdicts)


@dataclass(frozen=True)
class SourceAgreementReport:
    item_kind: str
    field: str  # the label field compared: choice, top or best
    values: tuple[object, ...]  # the answers, in the confusion matrix's order
    sources: tuple[SourceAgreement, ...]  # by name


def _with_prompts(agreement: SourceAgreement) -> SourceAgreement:
    ids = [difference.item_id for difference in agreement.differences]
    texts = {
        item.pk: item.prompt.display_text[:PROMPT_EXCERPT_CHARS]
        for item in Item.objects.filter(pk__in=ids)
        .select_related("prompt")
        .only("prompt", "prompt__text", "prompt__messages")
    }
    differences = tuple(
        dataclasses.replace(d, prompt=texts.get(d.item_id, "")) for d in agreement.differences
    )
    return dataclasses.replace(agreement, differences=differences)


def source_agreement_report_for(*, campaign: Campaign) -> SourceAgreementReport:
    kind = campaign.kind
    human = _human_answers(campaign, kind)
    used = {answer.answer for answer in human.values()}
    verdicts = source_verdicts(campaign=campaign)
    used |= {answer for by_item in verdicts.values() for answer in by_item.values()}
    values = tuple(value for value in SOURCE_VALUES[kind] if kind == PAIRWISE or value in used)
    return SourceAgreementReport(
        item_kind=kind,
        field=SOURCE_FIELDS[kind],
        values=values,
        sources=tuple(
            _with_prompts(source_agreement(source, by_item, human, values=values))
            for source, by_item in verdicts.items()
        ),
    )
