"""Build pairwise items from candidates, each pair shown in a random order that is stored."""

import itertools
import random
from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction
from django.db.models import F, QuerySet

from labelapp.errors import ApplicationError
from labelapp.kinds import kind_get
from labelapp.models import Campaign, Candidate, CandidateStep, Item, ItemCandidate


@dataclass(frozen=True)
class ItemsBuilt:
    created: int
    skipped_identical: int
    already_built: int


def _pairs_built(campaign: Campaign, kind: str) -> set[frozenset[int]]:
    slots = ItemCandidate.objects.filter(item__campaign=campaign, item__kind=kind).values_list(
        "item_id", "candidate_id"
    )
    by_item: dict[int, set[int]] = {}
    for item_id, candidate_id in slots:
        by_item.setdefault(item_id, set()).add(candidate_id)
    return {frozenset(ids) for ids in by_item.values()}


class Pairing(StrEnum):
    WITHIN_PROMPT = "within-prompt"  # every pair of a prompt's answers (revisions count as answers)
    ANSWER_VS_REVISION = "answer-vs-revision"  # each self-critique answer against its own revision


def _answers_by_prompt(campaign: Campaign) -> dict[int, list[tuple[Candidate, ...]]]:
    candidates = (
        Candidate.objects.filter(prompt__campaign=campaign)
        .exclude(step=CandidateStep.CRITIQUE)
        .only("id", "prompt_id", "text")
        .order_by("id")
    )
    by_prompt: dict[int, list[Candidate]] = {}
    for candidate in candidates:
        by_prompt.setdefault(candidate.prompt_id, []).append(candidate)
    return {prompt_id: list(itertools.combinations(group, 2)) for prompt_id, group in by_prompt.items()}


def _revision_pairs_by_prompt(campaign: Campaign) -> dict[int, list[tuple[Candidate, ...]]]:
    revisions = (
        Candidate.objects.filter(prompt__campaign=campaign, step=CandidateStep.REVISION)
        .select_related("parent__parent")
        .order_by("id")
    )
    by_prompt: dict[int, list[tuple[Candidate, ...]]] = {}
    for revision in revisions:
        answer = revision.parent.parent  # revision -> critique -> answer
        by_prompt.setdefault(revision.prompt_id, []).append((answer, revision))
    return by_prompt


@transaction.atomic
def items_build(
    *,
    campaign: Campaign,
    kind: str,
    pairing: str = Pairing.WITHIN_PROMPT,
    max_per_prompt: int | None = None,
    seed: int | None = None,
) -> ItemsBuilt:
    """Pair up candidates of each prompt. Idempotent: pairs already in an item are not built again.

    Critiques are never shown as answers. Pairs of identical texts are skipped: nobody can prefer one.
    """
    kind_get(kind)
    if kind != campaign.kind:
        raise ApplicationError(
            f"Campaign '{campaign.name}' is a {campaign.kind} campaign, not {kind}.", {"field": "kind"}
        )
    if pairing not in {p.value for p in Pairing}:
        allowed = ", ".join(Pairing)
        raise ApplicationError(f"Unknown pairing '{pairing}'. Allowed: {allowed}.", {"field": "pairing"})
    if max_per_prompt is not None and max_per_prompt < 1:
        raise ApplicationError("max_per_prompt must be at least 1.", {"field": "max_per_prompt"})
    rng = random.Random(seed)
    built = _pairs_built(campaign, kind)
    by_prompt = (
        _revision_pairs_by_prompt(campaign)
        if pairing == Pairing.ANSWER_VS_REVISION
        else _answers_by_prompt(campaign)
    )

    created = skipped = already = 0
    for prompt_id, pairs in by_prompt.items():
        rng.shuffle(pairs)
        made_for_prompt = sum(1 for p in pairs if frozenset(c.id for c in p) in built)
        for pair in pairs:
            if frozenset(c.id for c in pair) in built:
                already += 1
                continue
            if len({c.text.strip() for c in pair}) < len(pair):
                skipped += 1
                continue
            if max_per_prompt is not None and made_for_prompt >= max_per_prompt:
                break
            _item_create(campaign=campaign, kind=kind, prompt_id=prompt_id, candidates=pair, rng=rng)
            made_for_prompt += 1
            created += 1
    return ItemsBuilt(created=created, skipped_identical=skipped, already_built=already)


def _item_create(
    *, campaign: Campaign, kind: str, prompt_id: int, candidates: tuple, rng: random.Random
) -> Item:
    item = Item.objects.create(campaign=campaign, kind=kind, prompt_id=prompt_id)
    positions = list(range(len(candidates)))
    rng.shuffle(positions)
    ItemCandidate.objects.bulk_create(
        ItemCandidate(item=item, candidate=candidate, index=index, position=positions[index])
        for index, candidate in enumerate(candidates)
    )
    return item


@transaction.atomic
def items_priority_shift(*, items: QuerySet[Item], by: int) -> int:
    return items.update(priority=F("priority") + by)


@transaction.atomic
def items_mark_gold(*, items: QuerySet[Item]) -> tuple[int, list[int]]:
    """Make items gold with their current majority label as the known answer.

    Returns (marked, item ids left alone because their labels have no clear majority).
    """
    marked, unclear = 0, []
    for item in items.prefetch_related("labels"):
        consensus = kind_get(item.kind).aggregate([label.value for label in item.labels.all()])
        if consensus.choice is None:
            unclear.append(item.pk)
            continue
        item.is_gold, item.gold_value = True, {"choice": consensus.choice}
        item.save(update_fields=["is_gold", "gold_value"])
        marked += 1
    return marked, unclear


@transaction.atomic
def items_unmark_gold(*, items: QuerySet[Item]) -> int:
    return items.update(is_gold=False, gold_value=None)
