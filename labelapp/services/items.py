"""Build items from candidates: the campaign's kind decides which candidates go together and where each
is shown to the AI judge; the order is random per item and stored. Labellers each get their own order
(selectors.items.shown_order_for_labeller), stored with their label."""

import random
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, QuerySet

from labelapp.errors import ApplicationError
from labelapp.kinds import KINDS, kind_get
from labelapp.kinds.base import BuildOptions, GeneratorChoice
from labelapp.models import Campaign, Candidate, Generator, Item, ItemCandidate, Prompt
from labelapp.services.overlap import labels_wanted_at_start


@dataclass(frozen=True)
class ItemDraft:
    """An item to create: its prompt, its candidates in canonical order, and where each is shown."""

    prompt_id: int
    candidate_ids: tuple[int, ...]
    positions: tuple[int, ...]


def item_draft(*, kind: str, prompt_id: int, candidate_ids: tuple[int, ...], rng: random.Random) -> ItemDraft:
    """The item, its shown positions drawn now (random per item, as the kind shuffles them)."""
    positions = KINDS[kind].shuffled_positions(len(candidate_ids), rng)
    return ItemDraft(prompt_id, candidate_ids, tuple(positions))


def items_create(*, campaign: Campaign, kind: str, drafts: list[ItemDraft], priority: int = 0) -> list[Item]:
    """The drafts as items and their slots, in two inserts (the caller holds the transaction)."""
    wanted = labels_wanted_at_start(campaign=campaign)
    items = Item.objects.bulk_create(
        [
            Item(
                campaign=campaign,
                kind=kind,
                prompt_id=draft.prompt_id,
                priority=priority,
                labels_wanted=wanted,
            )
            for draft in drafts
        ]
    )
    ItemCandidate.objects.bulk_create(
        ItemCandidate(item=item, candidate_id=candidate_id, index=index, position=draft.positions[index])
        for item, draft in zip(items, drafts, strict=True)
        for index, candidate_id in enumerate(draft.candidate_ids)
    )
    return items


@dataclass(frozen=True)
class ItemsBuilt:
    created: int
    skipped_identical: int
    already_built: int


def _groups_built(campaign: Campaign, kind: str, prompt: Prompt | None) -> set[frozenset[int]]:
    slots = ItemCandidate.objects.filter(item__campaign=campaign, item__kind=kind)
    if prompt is not None:
        slots = slots.filter(item__prompt=prompt)
    by_item: dict[int, set[int]] = {}
    for item_id, candidate_id in slots.values_list("item_id", "candidate_id"):
        by_item.setdefault(item_id, set()).add(candidate_id)
    return {frozenset(ids) for ids in by_item.values()}


def _candidates_by_prompt(
    campaign: Campaign, generators: tuple[str, ...], prompt: Prompt | None
) -> dict[int, list[Candidate]]:
    # A conversation's next turn is built on its own, once both its answers are in (conversation_turns.py).
    of_prompts = {"prompt": prompt} if prompt is not None else {"prompt__continues__isnull": True}
    candidates = Candidate.objects.filter(prompt__campaign=campaign, **of_prompts).select_related("generator")
    chosen = [GeneratorChoice.parse(text) for text in generators]
    if chosen:
        names = {choice.name for choice in chosen}
        unknown = names - set(Generator.objects.filter(name__in=names).values_list("name", flat=True))
        if unknown:
            raise ApplicationError(
                f"Unknown generator(s): {', '.join(sorted(unknown))}.", {"field": "generators"}
            )
        candidates = candidates.filter(generator__name__in=names)
    by_prompt: dict[int, list[Candidate]] = {}
    for candidate in candidates.defer("rendered_prompt").order_by("id"):
        if not chosen or any(choice.matches(candidate) for choice in chosen):
            by_prompt.setdefault(candidate.prompt_id, []).append(candidate)
    return by_prompt


def _options_check(campaign: Campaign, kind: str, options: BuildOptions) -> None:
    kind_get(kind)
    if kind != campaign.kind:
        raise ApplicationError(
            f"Campaign '{campaign.name}' is a {campaign.kind} campaign, not {kind}.", {"field": "kind"}
        )
    if options.max_per_prompt is not None and options.max_per_prompt < 1:
        raise ApplicationError("max_per_prompt must be at least 1.", {"field": "max_per_prompt"})
    counts = KINDS[kind].CANDIDATE_COUNTS
    if options.per_item is not None and options.per_item not in counts:
        raise ApplicationError(
            f"Field 'per_item' must be {counts.start} to {counts.stop - 1} for {kind}, not {options.per_item}.",
            {"field": "per_item", "allowed": list(counts)},
        )
    KINDS[kind].options_check(options)


@transaction.atomic
def items_build(
    *,
    campaign: Campaign,
    kind: str,
    options: BuildOptions | None = None,
    seed: int | None = None,
    source_campaign: Campaign | None = None,
    prompt: Prompt | None = None,
    priority: int = 0,
) -> ItemsBuilt:
    """Group each prompt's candidates into items. Idempotent: a group already in an item is not built again.

    Kinds that compare candidates skip groups with identical texts: nobody can prefer one of two copies.
    The candidates are the campaign's own, or `source_campaign`'s: a coherence campaign judges the very
    candidates a correctness campaign judges, so the two judgements can be joined by candidate.
    `prompt` builds only that prompt's items, at `priority` (a conversation's next turn).
    """
    options = options or BuildOptions()
    _options_check(campaign, kind, options)
    task_kind = KINDS[kind]
    rng = random.Random(seed)
    built = _groups_built(campaign, kind, prompt)
    skipped = already = 0
    drafts: list[ItemDraft] = []
    by_prompt = _candidates_by_prompt(source_campaign or campaign, options.generators, prompt)
    for prompt_id, candidates in by_prompt.items():
        groups = list(task_kind.candidate_groups(candidates, options=options, rng=rng))
        rng.shuffle(groups)
        made_for_prompt = sum(1 for group in groups if frozenset(c.pk for c in group) in built)
        for group in groups:
            if frozenset(c.pk for c in group) in built:
                already += 1
                continue
            if not task_kind.ALLOWS_IDENTICAL_TEXTS and len({c.text.strip() for c in group}) < len(group):
                skipped += 1
                continue
            if options.max_per_prompt is not None and made_for_prompt >= options.max_per_prompt:
                break
            ids = tuple(candidate.pk for candidate in group)
            drafts.append(item_draft(kind=kind, prompt_id=prompt_id, candidate_ids=ids, rng=rng))
            made_for_prompt += 1
    items_create(campaign=campaign, kind=kind, drafts=drafts, priority=priority)
    return ItemsBuilt(created=len(drafts), skipped_identical=skipped, already_built=already)


@transaction.atomic
def items_priority_shift(*, items: QuerySet[Item], by: int) -> int:
    return items.update(priority=F("priority") + by)
