"""Reads for the research reports: labels and judge verdicts as the narrow rows the reports compute on.

Each function reads a campaign's non-gold items of one kind in a fixed number of queries (never free text
such as rationales), and aggregates labels per item with the kind's own `aggregate`.
"""

from collections import defaultdict
from dataclasses import dataclass

from labelapp.kinds import kind_get
from labelapp.models import Campaign, Item, ItemCandidate, JudgeLabel, Label
from labelapp.reports.judge import JudgeAgreement, judge_agreement
from labelapp.reports.leaderboard import LeaderboardReport, PairOutcome, Player, leaderboard_report

PAIRWISE = "pairwise"


def _work_items(campaign: Campaign, kind: str) -> dict:
    return {"item__campaign": campaign, "item__kind": kind, "item__is_gold": False}


def pairwise_majorities(*, campaign: Campaign) -> dict[int, str | None]:
    """Item id -> the labellers' aggregate choice (None when split), for labelled non-gold pairwise items."""
    choices: dict[int, list[dict]] = defaultdict(list)
    rows = (
        Label.objects.filter(**_work_items(campaign, PAIRWISE))
        .order_by()
        .values_list("item_id", "value__choice")
    )
    for item_id, choice in rows:
        choices[item_id].append({"choice": choice})
    aggregate = kind_get(PAIRWISE).aggregate
    return {item_id: aggregate(values).choice for item_id, values in choices.items()}


def pairwise_outcomes(*, campaign: Campaign) -> tuple[list[PairOutcome], int]:
    """Every labelled non-gold pairwise item with its two players; and how many items have no label yet."""
    majorities = pairwise_majorities(campaign=campaign)
    players: dict[int, dict[int, Player]] = defaultdict(dict)
    slots = (
        ItemCandidate.objects.filter(**_work_items(campaign, PAIRWISE))
        .order_by()
        .values_list("item_id", "index", "candidate__generator__name", "candidate__params", "candidate__step")
    )
    for item_id, index, generator, params, step in slots:
        players[item_id][index] = Player(generator=generator, params=params or {}, step=step)
    outcomes = [
        PairOutcome(item_id=item_id, first=players[item_id][0], second=players[item_id][1], choice=choice)
        for item_id, choice in sorted(majorities.items())
    ]
    total = Item.objects.filter(campaign=campaign, kind=PAIRWISE, is_gold=False).count()
    return outcomes, total - len(outcomes)


def judge_verdicts(*, campaign: Campaign) -> dict[str, dict[int, str | None]]:
    """Judge generator name -> item id -> its canonical choice, None where its answer did not parse."""
    verdicts: dict[str, dict[int, str | None]] = defaultdict(dict)
    rows = (
        JudgeLabel.objects.filter(**_work_items(campaign, PAIRWISE))
        .order_by("generator__name", "item_id")
        .values_list("generator__name", "item_id", "value__choice")
    )
    for generator, item_id, choice in rows:
        verdicts[generator][item_id] = choice
    return dict(verdicts)


def leaderboard_report_for(*, campaign: Campaign, bootstrap_samples: int, seed: int) -> LeaderboardReport:
    outcomes, unlabelled = pairwise_outcomes(campaign=campaign)
    return leaderboard_report(outcomes, unlabelled=unlabelled, bootstrap_samples=bootstrap_samples, seed=seed)


@dataclass(frozen=True)
class JudgeReport:
    judges: tuple[JudgeAgreement, ...]  # one per generator that judged this campaign, by name


def judge_report_for(*, campaign: Campaign) -> JudgeReport:
    human = pairwise_majorities(campaign=campaign)
    return JudgeReport(
        judges=tuple(
            judge_agreement(name, verdicts, human)
            for name, verdicts in judge_verdicts(campaign=campaign).items()
        )
    )
