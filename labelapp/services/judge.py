"""AI judge: a generator labels pairwise items, answering in a fixed format that is parsed strictly.

The judge sees the prompt and the two responses at the positions labellers saw them (A left, B right) and
must answer exactly one line, "Verdict: A", "Verdict: B" or "Verdict: tie". Anything else is recorded as
a parse error with the raw output, never guessed at. Decoding is greedy and stops at the first line
break, so a run is reproducible and a chatty judge is cut to its first line.

Verdicts go to JudgeLabel, a table of their own: queues, the dashboard's agreement and exports read
Label only, so a judge is never mixed into human data.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import inference
from labelapp.errors import ApplicationError
from labelapp.kinds import pairwise
from labelapp.kinds.base import ItemShape
from labelapp.models import Campaign, Generator, Item, ItemCandidate, JudgeLabel
from labelapp.services.generation import generator_model_spec

JUDGE_PARAMS = inference.SamplingParams(temperature=0.0, max_new_tokens=16, stop=("\n",), seed=0)
ITEMS_PER_CALL = 8
VERDICT = re.compile(r"Verdict: (A|B|tie)")
PROMPT_TEMPLATE = """You are judging two responses to the same prompt.

[Prompt]
{prompt}

[Response A]
{a}

[Response B]
{b}

Which response is better? Answer with exactly one line and nothing else: "Verdict: A", "Verdict: B" or "Verdict: tie"."""

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class JudgeRun:
    judged: int  # items this run gave a verdict (or a parse error) to
    parse_errors: int
    remaining: int  # items of the campaign still without a verdict from this judge


def judge_prompt(*, prompt: str, shown_texts: Sequence[str]) -> str:
    a, b = shown_texts
    return PROMPT_TEMPLATE.format(prompt=prompt, a=a, b=b)


def verdict_parse(raw_output: str) -> str | None:
    """The shown position chosen ("a", "b") or "tie"; None unless the answer is exactly the format."""
    match = VERDICT.fullmatch(raw_output.strip())
    return None if match is None else match.group(1).lower()


def _pending(campaign: Campaign, generator: Generator) -> list[Item]:
    return list(
        Item.objects.filter(campaign=campaign, kind=pairwise.NAME, is_gold=False)
        .exclude(judge_labels__generator=generator)
        .select_related("prompt")
        .order_by("id")
    )


def _shown_slots(items: Sequence[Item]) -> dict[int, list[ItemCandidate]]:
    """Each item's slots in shown order (A first)."""
    slots: dict[int, list[ItemCandidate]] = {item.pk: [] for item in items}
    for slot in (
        ItemCandidate.objects.filter(item__in=items)
        .select_related("candidate")
        .order_by("item_id", "position")
    ):
        slots[slot.item_id].append(slot)
    return slots


def _judge_label(
    item: Item, generator: Generator, slots: list[ItemCandidate], completion: inference.Completion
) -> JudgeLabel:
    choice = verdict_parse(completion.text)
    value, error = None, ""
    if choice is None:
        error = 'Expected exactly one line: "Verdict: A", "Verdict: B" or "Verdict: tie".'
    else:
        shown = pairwise.label_validate({"choice": choice}, shape=ItemShape(candidate_count=2))
        value = pairwise.label_to_canonical(shown, [slot.index for slot in slots])
    return JudgeLabel(
        item=item,
        generator=generator,
        value=value,
        raw_output=completion.text,
        parse_error=error,
        rendered_prompt=completion.rendered_prompt,
        params=JUDGE_PARAMS.to_dict(),
    )


def items_judge(
    *,
    campaign: Campaign,
    generator: Generator,
    limit: int | None = None,
    on_progress: ProgressCallback | None = None,
) -> JudgeRun:
    """Have `generator` judge the campaign's pairwise items it has not judged yet (at most `limit`).

    Items are judged a few per model call and saved per call, so a stopped run resumes where it was; the
    unique (item, generator) constraint keeps two runs at once from writing one verdict twice.
    """
    if limit is not None and limit < 1:
        raise ApplicationError("Field 'limit' must be at least 1.", {"field": "limit"})
    if not Item.objects.filter(campaign=campaign, kind=pairwise.NAME, is_gold=False).exists():
        raise ApplicationError(
            f"Campaign '{campaign.name}' has no pairwise items to judge.", {"field": "campaign"}
        )
    pending = _pending(campaign, generator)
    chosen = pending[:limit] if limit is not None else pending
    spec = generator_model_spec(generator)
    if chosen:
        inference.preload(spec)
    judged = parse_errors = 0
    for start in range(0, len(chosen), ITEMS_PER_CALL):
        chunk = chosen[start : start + ITEMS_PER_CALL]
        slots = _shown_slots(chunk)
        requests = [
            inference.GenerationRequest(
                messages=(
                    {
                        "role": "user",
                        "content": judge_prompt(
                            prompt=item.prompt.display_text,
                            shown_texts=[slot.candidate.text for slot in slots[item.pk]],
                        ),
                    },
                )
            )
            for item in chunk
        ]
        completions = inference.generate(spec=spec, requests=requests, params=JUDGE_PARAMS)
        labels = [
            _judge_label(chunk[c.request_index], generator, slots[chunk[c.request_index].pk], c)
            for c in completions
        ]
        JudgeLabel.objects.bulk_create(labels, ignore_conflicts=True)
        judged += len(labels)
        parse_errors += sum(1 for label in labels if label.parse_error)
        if on_progress:
            on_progress(judged)
    return JudgeRun(judged=judged, parse_errors=parse_errors, remaining=len(pending) - judged)


def items_judge_enqueue(*, campaign: Campaign, generator: Generator, limit: int | None = None) -> None:
    from labelapp.tasks import items_judge_task  # tasks.py imports this module

    items_judge_task.delay_on_commit(campaign.pk, generator.pk, limit)
