"""AI judge: a generator labels pairwise, correctness, set-wise or ranking items, answering in a fixed format
parsed strictly.

On a pairwise item the judge sees the prompt and the two responses and must answer exactly one line,
"Verdict: A", "Verdict: B" or "Verdict: tie". On a set-wise item it sees the set and answers "Verdict:
diversity 3, best A, worst C" (it is not asked for near-duplicates); on a ranking item, the order best first,
"Verdict: C, A, B, D". On a correctness item it sees the prompt, the reference answer where the campaign
shows labellers one, and the answer, and must answer "Verdict: correct" or "Verdict: incorrect". Anything
else (a letter named twice, say) is recorded as a parse error with the raw output, never guessed at.
Decoding is greedy and stops at the first line break, so a run is reproducible and a chatty judge is cut to
its first line.

Judges favour a position, so an item of several responses is judged twice: in the order labellers see it
and reversed. Where the two verdicts choose differently the judge followed the position, not the answers:
the job counts such items (`order_inconsistent`) and the judge report gives the rate. Each verdict's
confidence is the probability the model gave its whole answer, exp(sum of its tokens' logprobs), where the
backend returns logprobs (the embedded model and OpenAI-compatible servers do).

Verdicts go to JudgeLabel, a table of their own: queues, the dashboard's agreement and exports of human
labels read Label only, so a judge is never mixed into human data. A verdict is stored in canonical order
like a human label: `{"choice": "a"}`, `{"verdict": "correct"}`, the set-wise or ranking value.
"""

import math
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet

import inference
from labelapp.errors import ApplicationError
from labelapp.kinds import correctness, kind_get, pairwise, ranking, reference_answer_shown, setwise
from labelapp.kinds.base import POSITION_NAMES, ItemShape
from labelapp.models import Campaign, Generator, Item, ItemCandidate, JudgeJob, JudgeLabel
from labelapp.reports.judge import JUDGE_ORDERS, order_consistent
from labelapp.services.generation import generator_model_spec
from labelapp.services.jobs import job_claim, job_progress, job_run_inline, job_succeed
from labelapp.services.overlap import items_judged_want_one_label

JUDGE_PARAMS = inference.SamplingParams(temperature=0.0, max_new_tokens=32, stop=("\n",), seed=0)
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
SETWISE_TEMPLATE = """You are judging a set of {count} responses to the same prompt, sampled from one model.

[Prompt]
{prompt}

{responses}

How diverse is the set (1: all the same, 5: all different), which response is best and which is worst?
Answer with exactly one line and nothing else: "Verdict: diversity N, best X, worst Y", where N is 1 to 5
and X and Y are two different letters among {letters}."""
RANKING_TEMPLATE = """You are ranking {count} responses to the same prompt.

[Prompt]
{prompt}

{responses}

Order the responses from best to worst. Answer with exactly one line and nothing else: "Verdict: " and
every letter among {letters} once, best first, separated by commas (e.g. "Verdict: {example}")."""
RESPONSE_BLOCK = "[Response {name}]\n{text}"

ProgressCallback = Callable[[JudgeJob], None]


@dataclass(frozen=True)
class JudgeFormat:
    """How a judge's one-line answer is read: the pattern of the whole answer (spaces around it aside), the
    value as the kind's labellers would submit it (shown positions), and the error recorded otherwise."""

    verdict: re.Pattern[str]
    submitted: Callable[[re.Match[str]], dict[str, Any]]
    expected: str


FORMATS = {
    pairwise.NAME: JudgeFormat(
        re.compile(r"Verdict: (A|B|tie)"),
        lambda match: {"choice": match[1].lower()},
        'Expected exactly one line: "Verdict: A", "Verdict: B" or "Verdict: tie".',
    ),
    correctness.NAME: JudgeFormat(
        re.compile(r"Verdict: (correct|incorrect)"),
        lambda match: {"verdict": match[1]},
        'Expected exactly one line: "Verdict: correct" or "Verdict: incorrect".',
    ),
    setwise.NAME: JudgeFormat(
        re.compile(r"Verdict: diversity ([1-5]), best ([A-J]), worst ([A-J])"),
        lambda match: {"diversity": int(match[1]), "best": match[2], "worst": match[3]},
        'Expected exactly one line: "Verdict: diversity N, best X, worst Y", N from 1 to 5, X and Y two '
        "different letters of the set.",
    ),
    ranking.NAME: JudgeFormat(
        re.compile(r"Verdict: ([A-I](?:, ?[A-I])+)"),
        lambda match: {"order": match[1]},
        'Expected exactly one line: "Verdict: " and every letter of the responses once, best first, '
        'separated by commas ("Verdict: C, A, B").',
    ),
}


def judge_prompt(*, prompt: str, shown_texts: Sequence[str]) -> str:
    a, b = shown_texts
    return PAIRWISE_TEMPLATE.format(prompt=prompt, a=a, b=b)


def correctness_judge_prompt(*, prompt: str, answer: str, reference_answer: str = "") -> str:
    reference = REFERENCE_BLOCK.format(reference=reference_answer) if reference_answer else ""
    return CORRECTNESS_TEMPLATE.format(prompt=prompt, reference=reference, answer=answer)


def several_judge_prompt(*, kind: str, prompt: str, shown_texts: Sequence[str]) -> str:
    """A set-wise or ranking item's question: the responses under their shown letters."""
    names = POSITION_NAMES[: len(shown_texts)]
    responses = "\n\n".join(
        RESPONSE_BLOCK.format(name=n, text=t) for n, t in zip(names, shown_texts, strict=True)
    )
    template = SETWISE_TEMPLATE if kind == setwise.NAME else RANKING_TEMPLATE
    return template.format(
        count=len(shown_texts),
        prompt=prompt,
        responses=responses,
        letters=", ".join(names),
        example=", ".join(reversed(names)),
    )


def verdict_parse(
    raw_output: str, kind: str = pairwise.NAME, candidate_count: int = 2
) -> dict[str, Any] | None:
    """The answer as the kind's value at shown positions ("a" is the response shown first), validated as a
    labeller's would be; None unless the answer is exactly the format and names the positions validly."""
    match = FORMATS[kind].verdict.fullmatch(raw_output.strip())
    if match is None:
        return None
    submitted = FORMATS[kind].submitted(match)
    if kind == correctness.NAME:
        return submitted
    try:
        return kind_get(kind).label_validate(submitted, shape=ItemShape(candidate_count=candidate_count))
    except ApplicationError:
        return None


def items_unjudged(*, campaign: Campaign, generator: Generator) -> QuerySet[Item]:
    """The campaign's items (gold left out) the generator has not judged in every order yet."""
    return (
        Item.objects.filter(campaign=campaign, kind=campaign.kind, is_gold=False)
        .annotate(verdicts=Count("judge_labels", filter=Q(judge_labels__generator=generator)))
        .filter(verdicts__lt=len(JUDGE_ORDERS[campaign.kind]))
        .select_related("prompt")
        .order_by("id")
    )


@dataclass(frozen=True)
class _Showing:
    """One item in one order: the canonical index of the candidate at each shown position, and its text."""

    item: Item
    order_reversed: bool
    shown_indices: list[int]
    texts: list[str]


def _showings(items: Sequence[Item], generator: Generator) -> list[_Showing]:
    """Each item in each order the generator has not judged it in yet, the order labellers see first."""
    slots: dict[int, list[ItemCandidate]] = {item.pk: [] for item in items}
    for slot in (
        ItemCandidate.objects.filter(item__in=items)
        .select_related("candidate")
        .order_by("item_id", "position")
    ):
        slots[slot.item_id].append(slot)
    judged = set(
        JudgeLabel.objects.filter(item__in=items, generator=generator).values_list(
            "item_id", "order_reversed"
        )
    )
    showings = []
    for item in items:
        for order_reversed in JUDGE_ORDERS[item.kind]:
            if (item.pk, order_reversed) not in judged:
                shown = slots[item.pk][::-1] if order_reversed else slots[item.pk]
                showings.append(
                    _Showing(
                        item, order_reversed, [s.index for s in shown], [s.candidate.text for s in shown]
                    )
                )
    return showings


def _judge_request(campaign: Campaign, showing: _Showing) -> inference.GenerationRequest:
    prompt = showing.item.prompt.display_text
    if campaign.kind == pairwise.NAME:
        content = judge_prompt(prompt=prompt, shown_texts=showing.texts)
    elif campaign.kind == correctness.NAME:
        reference = showing.item.prompt.reference_answer if reference_answer_shown(campaign=campaign) else ""
        content = correctness_judge_prompt(prompt=prompt, answer=showing.texts[0], reference_answer=reference)
    else:
        content = several_judge_prompt(kind=campaign.kind, prompt=prompt, shown_texts=showing.texts)
    return inference.GenerationRequest(messages=({"role": "user", "content": content},))


def _judge_value(kind: str, shown: dict[str, Any], shown_indices: list[int]) -> dict[str, Any]:
    return shown if kind == correctness.NAME else kind_get(kind).label_to_canonical(shown, shown_indices)


def _confidence(completion: inference.Completion) -> float | None:
    return None if completion.logprob_sum is None else math.exp(completion.logprob_sum)


def _judge_label(showing: _Showing, generator: Generator, completion: inference.Completion) -> JudgeLabel:
    kind = showing.item.kind
    shown = verdict_parse(completion.text, kind, len(showing.shown_indices))
    return JudgeLabel(
        item=showing.item,
        generator=generator,
        order_reversed=showing.order_reversed,
        value=None if shown is None else _judge_value(kind, shown, showing.shown_indices),
        confidence=None if shown is None else _confidence(completion),
        raw_output=completion.text,
        parse_error=FORMATS[kind].expected if shown is None else "",
        rendered_prompt=completion.rendered_prompt,
        params=JUDGE_PARAMS.to_dict(),
    )


def _order_inconsistent(items: Sequence[Item], generator: Generator) -> int:
    """How many of the items the generator has now judged in every order, with verdicts that differ."""
    values: dict[int, dict[bool, Any]] = defaultdict(dict)
    for item_id, order_reversed, value in JudgeLabel.objects.filter(
        item__in=items, generator=generator
    ).values_list("item_id", "order_reversed", "value"):
        values[item_id][order_reversed] = value
    return sum(1 for item in items if order_consistent(item.kind, values[item.pk]) is False)


@transaction.atomic
def judge_job_create(*, campaign: Campaign, generator: Generator, limit: int | None = None) -> JudgeJob:
    """A job of `generator` judging the campaign's items it has not judged yet (at most `limit`), for a
    worker (`job_enqueue`) or the command line (`items_judge`)."""
    if limit is not None and limit < 1:
        raise ApplicationError("Field 'limit' must be at least 1.", {"field": "limit"})
    if campaign.kind not in FORMATS:
        *others, last = FORMATS
        kinds = f"{', '.join(others)} or {last}"
        raise ApplicationError(
            f"Campaign '{campaign.name}' is a {campaign.kind} campaign: a judge labels {kinds} items.",
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
    """Judge the job's items, each in every order its generator has not judged it in yet, up to what is
    left of its limit.

    Items are judged a few per model call and saved per call with the job's progress, so a retried job
    resumes where it stopped and never judges more than its limit; the unique (item, generator, order)
    constraint keeps two runs at once from writing one verdict twice.
    """
    job = job_claim(model=JudgeJob, job_id=job_id)
    if job is None:
        return JudgeJob.objects.get(pk=job_id)
    campaign, generator = job.campaign, job.generator
    pending = list(items_unjudged(campaign=campaign, generator=generator))
    chosen = pending if job.limit is None else pending[: max(0, job.limit - job.progress_done)]
    judged, parse_errors, inconsistent = job.progress_done, job.parse_errors, job.order_inconsistent
    job_progress(job=job, done=judged, total=judged + len(chosen))
    spec = generator_model_spec(generator)
    if chosen:
        inference.preload(spec)
    for start in range(0, len(chosen), ITEMS_PER_CALL):
        chunk = chosen[start : start + ITEMS_PER_CALL]
        showings = _showings(chunk, generator)
        requests = [_judge_request(campaign, showing) for showing in showings]
        completions = inference.generate(spec=spec, requests=requests, params=JUDGE_PARAMS)
        labels = [_judge_label(showings[c.request_index], generator, c) for c in completions]
        judged += len(chunk)
        parse_errors += sum(1 for label in labels if label.parse_error)
        with transaction.atomic():
            JudgeLabel.objects.bulk_create(labels, ignore_conflicts=True)
            inconsistent += _order_inconsistent(chunk, generator)
            items_judged_want_one_label(campaign=campaign, items=chunk)
            job_progress(job=job, done=judged, parse_errors=parse_errors, order_inconsistent=inconsistent)
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
