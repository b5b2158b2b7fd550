"""A conversation's next turn becomes an item once both its answers are in.

Called by the generation run when a job that answers one continuation prompt succeeds: the two answers may
come from two jobs (two generators), so the last of them to succeed builds the pair, under the prompt's row
lock. Kept apart from `continuations.py`, which makes those generation jobs: the two modules would
otherwise import each other through `generation.py`.
"""

from django.db import transaction

from labelapp.models import CandidateStep, Continuation, ContinuationStop, Item, Prompt
from labelapp.services.items import items_build

ANSWERS_PER_TURN = 2


@transaction.atomic
def conversation_turn_build(*, prompt_id: int) -> Item | None:
    """The item of a continuation prompt's two answers, built once, one priority above the item it
    continues so it is served before untouched conversations; None while an answer is missing, or when the
    two answers are identical (nobody can prefer one of two copies: the conversation stops there)."""
    prompt = Prompt.objects.select_for_update().get(pk=prompt_id)
    built = prompt.items.first()
    if built is not None or prompt.continues_id is None:
        return built
    if prompt.candidates.filter(step=CandidateStep.ANSWER).count() < ANSWERS_PER_TURN:
        return None
    continued = Item.objects.select_related("campaign").get(pk=prompt.continues_id)
    outcome = items_build(
        campaign=continued.campaign, kind=continued.kind, prompt=prompt, priority=continued.priority + 1
    )
    if outcome.skipped_identical:
        Continuation.objects.filter(item=continued).update(stopped=ContinuationStop.IDENTICAL_ANSWERS)
    return prompt.items.first()
