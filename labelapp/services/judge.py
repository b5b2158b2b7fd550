"""AI judge: a generator labels pairwise or correctness items, answering in a fixed format parsed strictly.

On a pairwise item the judge sees the prompt and the two responses at the positions labellers saw them
(A left, B right) and must answer exactly one line, "Verdict: A", "Verdict: B" or "Verdict: tie". On a
correctness item it sees the prompt, the reference answer where the campaign shows labellers one, and the
answer, and must answer "Verdict: correct" or "Verdict: incorrect". Anything else is recorded as a parse
error with the raw output, never guessed at. Decoding is greedy and stops at the first line break, so a
run is reproducible and a chatty judge is cut to its first line.

Verdicts go to JudgeLabel, a table of their own: queues, the dashboard's agreement and exports read
Label only, so a judge is never mixed into human data. A pairwise verdict is stored as `{"choice": "a"}`
in canonical order, a correctness verdict as `{"verdict": "correct"}`.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

import inference
from labelapp.errors import ApplicationError
from labelapp.kinds import correctness, pairwise, reference_answer_shown
from labelapp.kinds.base import ItemShape
from labelapp.models import Campaign, Generator, Item, ItemCandidate, JudgeJob, JudgeLabel
from labelapp.services.generation import generator_model_spec
from labelapp.services.jobs import job_claim, job_progress, job_run_inline, job_succeed
from labelapp.services.overlap import items_judged_want_one_label

JUDGE_PARAMS = inference.SamplingParams(temperature=0.0, max_new_tokens=16, stop=("\n",), seed=0)
ITEMS_PER_CALL = 8
PAIRWISE_TEMPLATE = """You are judging two responses to the same prompt.

[Prompt]
{prompt}

[Response A]
{a}

[Response B]
{b}

Which response is better? Answer with exactly one line and nothing else: "Verdict: A", "Verdict: B" or "Verdict: tie"."""
CORRECTNESS_TEMPLATE = """You are checking whether an answer to a prompt is correct.

[Prompt]
{prompt}
{reference}
[Answer]
{answer}

Is the answer correct? Answer with exactly one line and nothing else: "Verdict: correct" or "Verdict: incorrect"."""
REFERENCE_BLOCK = "\n[Reference answer]\n{reference}\n"

ProgressCallback = Callable[[JudgeJob], None]


@dataclass(frozen=True)
class JudgeFormat:
    """How a judge is asked about one kind of item, and how its one-line answer is read."""

    verdict: re.Pattern[str]  # the whole answer, spaces around it aside
    expected: str  # the parse error recorded for any other answer


FORMATS = {
    pairwise.NAME: JudgeFormat(
        re.compile(r"Verdict: (A|B|tie)"),
        'Expected exactly one line: "Verdict: A", "Verdict: B" or "Verdict: tie".',
    ),
    correctness.NAME: JudgeFormat(
        re.compile(r"Verdict: (correct|incorrect)"),
        'Expected exactly one line: "Verdict: correct" or "Verdict: incorrect".',
    ),
}


def judge_prompt(*, prompt: str, shown_texts: Sequence[str]) -> str:
    a, b = shown_texts
    return PAIRWISE_TEMPLATE.format(prompt=prompt, a=a, b=b)


def correctness_judge_prompt(*, prompt: str, answer: str, reference_answer: str = "") -> str:
    reference = REFERENCE_BLOCK.format(reference=reference_answer) if reference_answer else ""
    return CORRECTNESS_TEMPLATE.format(prompt=prompt, reference=reference, answer=answer)


def verdict_parse(raw_output: str, kind: str = pairwise.NAME) -> str | None:
    """Pairwise: the shown position chosen ("a", "b") or "tie"; correctness: "correct" or "incorrect".
    None unless the answer is exactly the format."""
    match = FORMATS[kind].verdict.fullmatch(raw_output.strip())
    return None if match is None else match.group(1).lower()


def items_unjudged(*, campaign: Campaign, generator: Generator) -> QuerySet[Item]:
    """The campaign's items (gold left out) the generator has not judged yet."""
    return (
        Item.objects.filter(campaign=campaign, kind=campaign.kind, is_gold=False)
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


def _judge_request(campaign: Campaign, item: Item, slots: list[ItemCandidate]) -> inference.GenerationRequest:
    texts = [slot.candidate.text for slot in slots]
    if campaign.kind == pairwise.NAME:
        content = judge_prompt(prompt=item.prompt.display_text, shown_texts=texts)
    else:
        reference = item.prompt.reference_answer if reference_answer_shown(campaign=campaign) else ""
        content = correctness_judge_prompt(
            prompt=item.prompt.display_text, answer=texts[0], reference_answer=reference
        )
    return inference.GenerationRequest(messages=({"role": "user", "content": content},))


def _judge_value(kind: str, answer: str, slots: list[ItemCandidate]) -> dict[str, Any]:
    if kind == correctness.NAME:
        return {"verdict": answer}
    shown = pairwise.label_validate({"choice": answer}, shape=ItemShape(candidate_count=2))
    return pairwise.label_to_canonical(shown, [slot.index for slot in slots])


def _judge_label(
    item: Item, generator: Generator, slots: list[ItemCandidate], completion: inference.Completion
) -> JudgeLabel:
    answer = verdict_parse(completion.text, item.kind)
    return JudgeLabel(
        item=item,
        generator=generator,
        value=None if answer is None else _judge_value(item.kind, answer, slots),
        raw_output=completion.text,
        parse_error=FORMATS[item.kind].expected if answer is None else "",
        rendered_prompt=completion.rendered_prompt,
        params=JUDGE_PARAMS.to_dict(),
    )


@transaction.atomic
def judge_job_create(*, campaign: Campaign, generator: Generator, limit: int | None = None) -> JudgeJob:
    """A job of `generator` judging the campaign's pairwise or correctness items it has not judged yet (at
    most `limit`), for a worker (`job_enqueue`) or the command line (`items_judge`)."""
    if limit is not None and limit < 1:
        raise ApplicationError("Field 'limit' must be at least 1.", {"field": "limit"})
    if campaign.kind not in FORMATS:
        raise ApplicationError(
            f"Campaign '{campaign.name}' is a {campaign.kind} campaign: a judge labels "
            f"{' or '.join(FORMATS)} items.",
            {"field": "campaign"},
        )
    if not Item.objects.filter(campaign=campaign, kind=campaign.kind, is_gold=False).exists():
        raise ApplicationError(
            f"Campaign '{campaign.name}' has no {campaign.kind} items to judge.", {"field": "campaign"}
        )
    job = JudgeJob(campaign=campaign, generator=generator, limit=limit)
    job.full_clean()
    job.save()
    return job


def judge_job_run(*, job_id: int, on_progress: ProgressCallback | None = None) -> JudgeJob:
    """Judge the job's items: the ones its generator has not judged yet, up to what is left of its limit.

    Items are judged a few per model call and saved per call with the job's progress, so a retried job
    resumes where it stopped and never judges more than its limit; the unique (item, generator) constraint
    keeps two runs at once from writing one verdict twice.
    """
    job = job_claim(model=JudgeJob, job_id=job_id)
    if job is None:
        return JudgeJob.objects.get(pk=job_id)
    campaign, generator = job.campaign, job.generator
    pending = list(items_unjudged(campaign=campaign, generator=generator))
    chosen = pending if job.limit is None else pending[: max(0, job.limit - job.progress_done)]
    judged, parse_errors = job.progress_done, job.parse_errors
    job_progress(job=job, done=judged, total=judged + len(chosen))
    spec = generator_model_spec(generator)
    if chosen:
        inference.preload(spec)
    for start in range(0, len(chosen), ITEMS_PER_CALL):
        chunk = chosen[start : start + ITEMS_PER_CALL]
        slots = _shown_slots(chunk)
        requests = [_judge_request(campaign, item, slots[item.pk]) for item in chunk]
        completions = inference.generate(spec=spec, requests=requests, params=JUDGE_PARAMS)
        labels = [
            _judge_label(chunk[c.request_index], generator, slots[chunk[c.request_index].pk], c)
            for c in completions
        ]
        judged += len(labels)
        parse_errors += sum(1 for label in labels if label.parse_error)
        with transaction.atomic():
            JudgeLabel.objects.bulk_create(labels, ignore_conflicts=True)
            items_judged_want_one_label(campaign=campaign, items=chunk)
            job_progress(job=job, done=judged, parse_errors=parse_errors)
        if on_progress:
            on_progress(job)
    return job_succeed(job=job, items_remaining=len(pending) - len(chosen))


def items_judge(
    *,
    campaign: Campaign,
    generator: Generator,
    limit: int | None = None,
    on_progress: ProgressCallback | None = None,
) -> JudgeJob:
    """Judge now, in this process (the command line), as a job the manage page lists like a worker's."""
    job = judge_job_create(campaign=campaign, generator=generator, limit=limit)
    return job_run_inline(job=job, run=judge_job_run, on_progress=on_progress)
