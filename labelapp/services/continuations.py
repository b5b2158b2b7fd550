"""Conversations that go on from the preferred reply, as Anthropic's HH data was collected.

A pairwise campaign with `continue_turns = N` continues each conversation for up to N more turns, so one
conversation gives up to N + 1 items, each one turn deeper (`Prompt.turn`, 1 for an imported prompt):

1. The label that completes an item (its k-th) records a `Continuation` in the label's own transaction and
   queues its task after commit. The item's row lock, held by the label write, makes the k-th label unique,
   and the one-to-one on the item backs it in the database: a retried or racing submit never records two.
   Gold items and items already N + 1 turns deep record none.
2. Its run, on a worker:
   - the preferred reply is the majority's choice; a tie, "both bad" or an even split ends the conversation,
     as does a compared reply imported from a file (its generator has no model to answer the next turn);
   - the next user message is the one written by the first label, in the order given, that chose the
     majority's reply and wrote one; where none did, the campaign's user simulator writes it; without one
     the conversation ends there;
   - the next prompt is the history, the preferred reply and that message, linked to the item it continues
     (`Prompt.continues`), to its conversation's first prompt and one turn deeper;
   - generation jobs answer it twice: the generators of the two compared replies with their params, one
     answer each (one job of two samples when both came from one generator with the same params).
3. When those jobs have succeeded, `conversation_turns.conversation_turn_build` builds the pair into an item.
"""

import json
from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction

import inference
from inference.user_simulator import user_message_from, user_simulator_request
from labelapp.kinds import pairwise
from labelapp.models import (
    Candidate,
    Continuation,
    ContinuationStop,
    Generator,
    GeneratorBackend,
    Item,
    Label,
    MessageSource,
    Prompt,
)
from labelapp.services.generation import generation_jobs_create, generator_model_spec, sampling_params_for
from labelapp.services.jobs import job_claim, job_enqueue, job_succeed
from labelapp.services.overlap import item_settled

STOPS = {None: ContinuationStop.SPLIT, "tie": ContinuationStop.TIE, "both_bad": ContinuationStop.BOTH_BAD}


def continuation_mark_due(*, item: Item) -> None:
    """In the transaction of the label that brought the item (locked by the caller) to its label_count,
    after the item decided what it asks for: record that its conversation is due to go on, if the campaign
    continues conversations, the item has just got its last label and the conversation may go one turn
    deeper."""
    campaign = item.campaign
    if not campaign.continue_turns or not item_settled(item=item):
        return
    turn = Prompt.objects.filter(pk=item.prompt_id).values_list("turn", flat=True).get()
    if turn > campaign.continue_turns:
        return
    continuation = Continuation(campaign=campaign, item=item, progress_total=1)
    continuation.save()
    job_enqueue(job=continuation)


def continuation_run(
    *, continuation_id: int, on_progress: Callable[[Continuation], None] | None = None
) -> Continuation:
    """Take the conversation one turn further from the item's preferred reply, or end it there, saying why.
    Safe to run again: a finished continuation is not run twice."""
    continuation = job_claim(model=Continuation, job_id=continuation_id)
    if continuation is None:
        return Continuation.objects.get(pk=continuation_id)
    item = Item.objects.select_related("prompt", "campaign__user_simulator").get(pk=continuation.item_id)
    slots = item.slots.select_related("candidate__generator").order_by("index")
    compared = [slot.candidate for slot in slots]
    labels = list(item.labels.order_by("id"))
    choice = pairwise.aggregate([label.value for label in labels]).choice
    if choice not in ("a", "b"):
        return job_succeed(job=continuation, stopped=STOPS[choice])
    if any(candidate.generator.backend == GeneratorBackend.EXTERNAL for candidate in compared):
        return job_succeed(job=continuation, stopped=ContinuationStop.IMPORTED_REPLY)
    preferred = compared["ab".index(choice)]
    history = [*_messages_of(item.prompt), {"role": "assistant", "content": preferred.text}]
    written_by = _message_label(labels, choice)
    simulator = item.campaign.user_simulator
    if written_by is not None:
        message, source = written_by.value["next_message"], MessageSource.LABELLER
    elif simulator is not None:
        message, source = _simulated_message(simulator, history), MessageSource.USER_SIMULATOR
        if not message:
            return job_succeed(job=continuation, stopped=ContinuationStop.SIMULATOR_SILENT)
    else:
        return job_succeed(job=continuation, stopped=ContinuationStop.NO_MESSAGE)
    return _next_turn_queue(
        continuation,
        item=item,
        messages=[*history, {"role": "user", "content": message}],
        compared=compared,
        source=source,
        written_by=written_by,
    )


def _messages_of(prompt: Prompt) -> list[dict[str, str]]:
    if prompt.messages is not None:
        return list(prompt.messages)
    return [{"role": "user", "content": prompt.text}]


def _message_label(labels: Sequence[Label], choice: str) -> Label | None:
    """The first label, in the order given, that chose the majority's reply and wrote the next message."""
    return next(
        (
            label
            for label in labels
            if label.value["choice"] == choice and (label.value.get("next_message") or "").strip()
        ),
        None,
    )


def _simulated_message(simulator: Generator, history: list[dict[str, str]]) -> str:
    params = sampling_params_for(generator=simulator, overrides={"n": 1})
    [completion] = inference.generate(
        spec=generator_model_spec(simulator), requests=[user_simulator_request(history)], params=params
    )
    return user_message_from(completion.text)


def _answerers(compared: Sequence[Candidate]) -> list[tuple[Generator, dict[str, Any]]]:
    """Who answers the next turn: each compared reply's generator with that reply's params, once per reply;
    replies of one generator with the same params (n aside) share one job of n samples."""
    groups: dict[tuple[int, str], tuple[Generator, dict[str, Any]]] = {}
    for candidate in compared:
        params = {key: value for key, value in candidate.params.items() if key != "n"}
        key = (candidate.generator_id, json.dumps(params, sort_keys=True))
        generator, grouped = groups.get(key, (candidate.generator, {**params, "n": 0}))
        groups[key] = (generator, {**grouped, "n": grouped["n"] + 1})
    return list(groups.values())


@transaction.atomic
def _next_turn_queue(
    continuation: Continuation,
    *,
    item: Item,
    messages: list[dict[str, str]],
    compared: Sequence[Candidate],
    source: str,
    written_by: Label | None,
) -> Continuation:
    """The next prompt and the generation jobs answering it, queued, and the continuation done, at once."""
    prompt = Prompt(
        campaign=item.campaign,
        messages=messages,
        continues=item,
        conversation_start_id=item.prompt.conversation_id,
        turn=item.prompt.turn + 1,
    )
    prompt.full_clean()
    prompt.save()
    for generator, params in _answerers(compared):
        [job] = generation_jobs_create(
            campaign=item.campaign,
            generator=generator,
            params_list=[sampling_params_for(generator=generator, overrides=params)],
            prompt=prompt,
        )
        job_enqueue(job=job)
    return job_succeed(job=continuation, progress_done=1, message_source=source, message_label=written_by)
