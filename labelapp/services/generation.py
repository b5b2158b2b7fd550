"""Generation jobs: create them, run them, record candidates, progress and the prompts a server refused."""

import dataclasses
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Sequence
from contextlib import closing

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

import inference
from inference.self_critique import critique_request, revision_request
from labelapp.errors import ApplicationError
from labelapp.models import (
    Campaign,
    Candidate,
    CandidateStep,
    GenerationJob,
    GenerationStrategy,
    Generator,
    GeneratorBackend,
    JobStatus,
    Prompt,
    PromptFormat,
)
from labelapp.selectors.generators import generator_get
from labelapp.services.best_of_n import JUDGE, Selection, best_of_n_records, selection_check, selection_parse
from labelapp.services.conversation_turns import conversation_turn_build
from labelapp.services.jobs import job_claim, job_succeed

PROMPTS_PER_CHUNK = 4
SEED_LIMIT = 2**31
FAILURE_MESSAGE_LIMIT = 1000

ProgressCallback = Callable[[GenerationJob], None]


def generator_runnable_check(generator: Generator) -> None:
    """An `external` generator holds answers imported from a file: there is no model to run."""
    if generator.backend == GeneratorBackend.EXTERNAL:
        raise ApplicationError(
            f"Generator '{generator.name}' is external: its answers were imported from a file, and it has no "
            "model to run. Choose a generator with a backend that generates.",
            {"field": "generator"},
        )


def generator_model_spec(generator: Generator) -> inference.ModelSpec:
    """The generator as inference sees it; the API key is read from the worker's environment, never stored."""
    generator_runnable_check(generator)
    api_key = None
    if generator.api_key_env:
        api_key = os.environ.get(generator.api_key_env)
        if not api_key:
            raise ApplicationError(
                f"Generator '{generator.name}' reads its API key from ${generator.api_key_env}, "
                "which is not set where the job runs.",
                {"field": "api_key_env"},
            )
    if generator.model == "embedded":
        return dataclasses.replace(
            inference.EMBEDDED_MODEL,
            prompt_format=generator.prompt_format,
            raw_template=generator.raw_template,
        )
    return inference.ModelSpec(
        backend=generator.backend,
        model=generator.model,
        gguf_file=generator.gguf_file or None,
        prompt_format=generator.prompt_format,
        raw_template=generator.raw_template,
        base_url=generator.base_url or None,
        api_key=api_key,
        concurrency=generator.concurrency,
    )


def sampling_params_for(*, generator: Generator, overrides: dict) -> inference.SamplingParams:
    """The generator's defaults with the job's overrides on top; a bad value names its field.

    A job always gets a seed (a random one if none is given), so it can be reproduced and two jobs with
    otherwise equal params write distinct candidates.
    """
    merged = {**generator.default_params, **{k: v for k, v in overrides.items() if v is not None}}
    merged.setdefault("seed", None)
    if merged["seed"] is None:
        merged["seed"] = secrets.randbelow(SEED_LIMIT)
    try:
        return inference.SamplingParams.from_dict(merged)
    except inference.InferenceError as exc:
        raise ApplicationError(str(exc), {"field": "params"}) from None


def sampling_params_sweep(
    *, generator: Generator, overrides: dict, temperatures: Sequence[float]
) -> list[inference.SamplingParams]:
    """One set of params per temperature (a sweep compares diversity across them); else just the overrides."""
    if not temperatures:
        return [sampling_params_for(generator=generator, overrides=overrides)]
    return [
        sampling_params_for(generator=generator, overrides={**overrides, "temperature": t})
        for t in temperatures
    ]


def params_key(params: inference.SamplingParams, selection: str = "") -> str:
    """The hash that tells one job's samples from another's: a best-of-N job's selection is part of it, so
    that it samples its own n answers rather than finding a plain job's with the same params (and seed)."""
    identity = params.to_dict() | ({"selection": selection} if selection else {})
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


@transaction.atomic
def generation_jobs_create(
    *,
    campaign: Campaign,
    generator: Generator,
    params_list: Sequence[inference.SamplingParams],
    strategy: str = GenerationStrategy.SAMPLE,
    prompt: Prompt | None = None,
    selection: str = "",
) -> list[GenerationJob]:
    """Jobs that answer the campaign's prompts (a conversation's next turns excepted: their continuation
    decides who answers them), or only `prompt`. A best-of-N job selects by `selection` (services/best_of_n.py)."""
    generator_runnable_check(generator)
    prompts_total = 1 if prompt is not None else _campaign_prompts(campaign).count()
    if prompts_total == 0:
        raise ApplicationError(
            f"Campaign '{campaign.name}' has no prompts: import some first.", {"field": "campaign"}
        )
    if strategy == GenerationStrategy.SELF_CRITIQUE and generator.prompt_format != PromptFormat.CHAT:
        raise ApplicationError(
            f"Self-critique needs a chat generator; '{generator.name}' uses a raw template.",
            {"field": "strategy"},
        )
    selection = _selection_checked(strategy, selection, params_list)
    jobs = []
    for params in params_list:
        job = GenerationJob(
            campaign=campaign,
            generator=generator,
            prompt=prompt,
            params=params.to_dict(),
            strategy=strategy,
            selection=selection,
            progress_total=prompts_total,
        )
        job.full_clean()
        job.save()
        jobs.append(job)
    return jobs


def _selection_checked(strategy: str, selection: str, params_list: Sequence[inference.SamplingParams]) -> str:
    """A best-of-N job's selection, checked; other strategies take none."""
    if strategy != GenerationStrategy.BEST_OF_N:
        if selection:
            raise ApplicationError(
                f"Option 'select' applies to the best-of-n strategy only, not {strategy}.",
                {"field": "select"},
            )
        return ""
    if not selection:
        raise ApplicationError(
            "The best-of-n strategy needs option 'select': logprob, reward-model:PATH or judge:GENERATOR.",
            {"field": "select"},
        )
    if any(params.n < 2 for params in params_list):
        raise ApplicationError("Best-of-n needs n of at least 2 samples per prompt.", {"field": "n"})
    checked = selection_check(selection)
    if checked.method == JUDGE:
        try:
            generator_runnable_check(generator_get(name=checked.argument))
        except ApplicationError as exc:
            raise ApplicationError(f"Option 'select': {exc.message}", {"field": "select"}) from None
    return checked.text


def _campaign_prompts(campaign: Campaign) -> QuerySet[Prompt]:
    return campaign.prompts.filter(continues__isnull=True)


def _job_prompts(job: GenerationJob) -> QuerySet[Prompt]:
    """The prompts a job answers: its one prompt, or the campaign's."""
    if job.prompt_id is not None:
        return Prompt.objects.filter(pk=job.prompt_id)
    return _campaign_prompts(job.campaign)


def prompts_unanswered(
    *, campaign: Campaign, generator: Generator, params: inference.SamplingParams, selection: str = ""
) -> QuerySet[Prompt]:
    """The campaign's prompts without all `params.n` answers of the generator sampled with these params (seed
    included) and, for best-of-N, this selection; chunks are written atomically, so a prompt has 0 or n."""
    return _prompts_pending(_campaign_prompts(campaign), generator, params_key(params, selection), params.n)


def _prompts_pending(prompts: QuerySet[Prompt], generator: Generator, key: str, n: int) -> QuerySet[Prompt]:
    answers = Q(
        candidates__generator=generator, candidates__params_key=key, candidates__step=CandidateStep.ANSWER
    )
    return prompts.annotate(done=Count("candidates", filter=answers)).filter(done__lt=n).order_by("id")


def _request_for(prompt: Prompt) -> inference.GenerationRequest:
    if prompt.messages is not None:
        return inference.GenerationRequest(messages=tuple(prompt.messages))
    return inference.GenerationRequest(prompt=prompt.text)


def _candidate(
    job: GenerationJob,
    key: str,
    prompt: Prompt,
    completion: inference.Completion,
    step: str,
    **fields: object,
) -> Candidate:
    return Candidate(
        prompt=prompt,
        generator=job.generator,
        job=job,
        step=step,
        params_key=key,
        params=job.params,
        text=completion.text,
        rendered_prompt=completion.rendered_prompt,
        seed=completion.seed,
        finish_reason=completion.finish_reason,
        token_count=completion.token_count,
        logprob_sum=completion.logprob_sum,
        logprob_mean=completion.logprob_mean,
        **fields,
    )


@transaction.atomic
def candidate_bulk_create(
    *,
    job: GenerationJob,
    key: str,
    prompts: Sequence[Prompt],
    answers: Sequence[inference.Completion],
    critiques: Sequence[inference.Completion] = (),
    revisions: Sequence[inference.Completion] = (),
    selections: Sequence[dict] = (),
) -> list[Candidate]:
    """Write the candidates of the prompts answered; answers[i].request_index indexes `prompts`, and
    critiques[i], revisions[i] and (best-of-N) selections[i] belong to answers[i]."""
    created = Candidate.objects.bulk_create(
        _candidate(
            job,
            key,
            prompts[a.request_index],
            a,
            CandidateStep.ANSWER,
            sample_index=a.sample_index,
            selection=selections[i] if selections else None,
        )
        for i, a in enumerate(answers)
    )
    if critiques:
        critique_rows = Candidate.objects.bulk_create(
            _candidate(
                job,
                key,
                answer.prompt,
                c,
                CandidateStep.CRITIQUE,
                parent=answer,
                sample_index=answer.sample_index,
            )
            for answer, c in zip(created, critiques, strict=True)
        )
        created += critique_rows
        created += Candidate.objects.bulk_create(
            _candidate(
                job, key, crit.prompt, r, CandidateStep.REVISION, parent=crit, sample_index=crit.sample_index
            )
            for crit, r in zip(critique_rows, revisions, strict=True)
        )
    GenerationJob.objects.filter(pk=job.pk).update(
        progress_done=F("progress_done") + len({a.request_index for a in answers}),
        tokens_generated=F("tokens_generated")
        + sum(c.token_count for c in (*answers, *critiques, *revisions)),
    )
    return created


class _Refusals:
    """The prompts of a run that the model server refused, with its message, kept on the job as they come."""

    def __init__(self, job: GenerationJob) -> None:
        self.job_id = job.pk
        self.failures: list[dict] = []

    def add(self, prompt: Prompt, message: str) -> None:
        self.failures.append({"prompt": prompt.pk, "message": message[:FAILURE_MESSAGE_LIMIT]})
        GenerationJob.objects.filter(pk=self.job_id).update(prompt_failures=self.failures)


def _completions_by_request(
    spec: inference.ModelSpec,
    requests: Sequence[inference.GenerationRequest],
    params: inference.SamplingParams,
    refused: dict[int, str],
    owners: Sequence[int],
) -> dict[int, list[inference.Completion]]:
    """Each request's completions; a refused request puts its owner (owners[request index]) in `refused`."""
    by_request: dict[int, list[inference.Completion]] = {}
    with closing(inference.generate_each(spec=spec, requests=requests, params=params)) as results:
        for result in results:
            if result.refusal is not None:
                refused.setdefault(owners[result.request_index], result.refusal)
            else:
                by_request[result.request_index] = sorted(result.completions, key=lambda c: c.sample_index)
    return by_request


def _generate_chunk(
    job: GenerationJob,
    spec: inference.ModelSpec,
    key: str,
    chunk: Sequence[Prompt],
    params: inference.SamplingParams,
    refusals: _Refusals,
    selector: "_Selector | None" = None,
) -> None:
    """Answers (and, for self-critique, their critiques and revisions; for best-of-N, which one is selected)
    for a chunk of prompts; a prompt any of whose requests the server refused is recorded as failed and gets
    no candidates."""
    requests = [_request_for(p) for p in chunk]
    refused: dict[int, str] = {}
    by_prompt = _completions_by_request(spec, requests, params, refused, owners=range(len(chunk)))
    answers = [a for index in sorted(by_prompt) for a in by_prompt[index]]
    critiques: list[inference.Completion] = []
    revisions: list[inference.Completion] = []
    if job.strategy == GenerationStrategy.SELF_CRITIQUE and answers:
        single = dataclasses.replace(params, n=1)
        owners = [a.request_index for a in answers]
        critiqued = _completions_by_request(
            spec,
            [critique_request(requests[a.request_index], a.text) for a in answers],
            single,
            refused,
            owners,
        )
        pairs = [(a, critiqued[i][0]) for i, a in enumerate(answers) if a.request_index not in refused]
        revised = _completions_by_request(
            spec,
            [revision_request(requests[a.request_index], a.text, c.text) for a, c in pairs],
            single,
            refused,
            [a.request_index for a, _ in pairs],
        )
        kept = [(a, c, revised[i][0]) for i, (a, c) in enumerate(pairs) if a.request_index not in refused]
        answers = [a for a, _, _ in kept]
        critiques = [c for _, c, _ in kept]
        revisions = [r for _, _, r in kept]
    answers = [a for a in answers if a.request_index not in refused]
    selections = selector.records(requests, by_prompt, answers) if selector and answers else []
    if answers:
        candidate_bulk_create(
            job=job,
            key=key,
            prompts=chunk,
            answers=answers,
            critiques=critiques,
            revisions=revisions,
            selections=selections,
        )
    for index, message in sorted(refused.items()):
        refusals.add(chunk[index], message)


@dataclasses.dataclass(frozen=True)
class _Selector:
    """A best-of-N job's selection, with its judge's model when a judge selects."""

    selection: Selection
    judge: inference.ModelSpec | None

    @classmethod
    def for_job(cls, job: GenerationJob) -> "_Selector | None":
        if job.strategy != GenerationStrategy.BEST_OF_N:
            return None
        selection = selection_parse(job.selection)
        judge = None
        if selection.method == JUDGE:
            judge = generator_model_spec(generator_get(name=selection.argument))
            inference.preload(judge)
        return cls(selection, judge)

    def records(
        self,
        requests: Sequence[inference.GenerationRequest],
        by_request: dict[int, list[inference.Completion]],
        answers: Sequence[inference.Completion],
    ) -> list[dict]:
        """Each answer's Candidate.selection, aligned with `answers`."""
        indices = sorted({a.request_index for a in answers})
        records = best_of_n_records(
            selection=self.selection,
            judge=self.judge,
            requests=[requests[i] for i in indices],
            samples=[by_request[i] for i in indices],
        )
        by_sample = {
            (i, c.sample_index): record
            for i, prompt_records in zip(indices, records, strict=True)
            for c, record in zip(by_request[i], prompt_records, strict=True)
        }
        return [by_sample[(a.request_index, a.sample_index)] for a in answers]


def _generate_streaming(
    job: GenerationJob,
    spec: inference.ModelSpec,
    key: str,
    pending: Sequence[Prompt],
    params: inference.SamplingParams,
    refusals: _Refusals,
    on_progress: ProgressCallback | None,
) -> None:
    """A remote backend's samples for every pending prompt, spec.concurrency requests in flight, each prompt's
    candidates written as soon as its answer is in (so the server's batch never waits for a slow prompt)."""
    requests = [_request_for(p) for p in pending]
    with closing(inference.generate_each(spec=spec, requests=requests, params=params)) as results:
        for result in results:
            if result.refusal is not None:
                refusals.add(pending[result.request_index], result.refusal)
            else:
                candidate_bulk_create(job=job, key=key, prompts=pending, answers=result.completions)
            if on_progress:
                job.refresh_from_db()
                on_progress(job)


def generation_job_run(*, job_id: int, on_progress: ProgressCallback | None = None) -> GenerationJob:
    """Generate every pending prompt's samples; safe to run again after a crash.

    A remote backend streams all pending prompts (samples, not self-critique) through the server; otherwise
    prompts go a chunk at a time. A prompt the server refuses is recorded on the job with the server's message
    and the others go on: the job then ends "completed with N failed prompts", and a retry runs only those.
    """
    job = job_claim(model=GenerationJob, job_id=job_id, mark_started=False)
    if job is None:
        return GenerationJob.objects.get(pk=job_id)
    params = inference.SamplingParams.from_dict(job.params)
    key = params_key(params, job.selection)
    spec = generator_model_spec(job.generator)
    inference.preload(spec)
    pending = list(_prompts_pending(_job_prompts(job), job.generator, key, params.n))
    job_seed = params.seed
    assert job_seed is not None, "a job always gets a seed (generation_jobs_create)"
    # started_at marks the end of model loading, so tokens/s measures generation alone.
    GenerationJob.objects.filter(pk=job.pk).update(
        progress_done=job.progress_total - len(pending),
        started_at=job.started_at or timezone.now(),
        prompt_failures=[],
    )
    refusals = _Refusals(job)
    selector = _Selector.for_job(job)
    if spec.is_remote and job.strategy == GenerationStrategy.SAMPLE:
        # Request i of the run gets the seed job_seed + i * n (inference.remote.request_seeds).
        _generate_streaming(job, spec, key, pending, params, refusals, on_progress)
    else:
        for start in range(0, len(pending), PROMPTS_PER_CHUNK):
            chunk = pending[start : start + PROMPTS_PER_CHUNK]
            # A seed per chunk, derived from the first prompt: the same job reproduces the same samples.
            chunk_params = dataclasses.replace(params, seed=job_seed + chunk[0].pk)
            _generate_chunk(job, spec, key, chunk, chunk_params, refusals, selector)
            if on_progress:
                job.refresh_from_db()
                on_progress(job)
    job.refresh_from_db()
    job = job_succeed(job=job, partial=bool(refusals.failures))
    if job.prompt_id is not None and job.status == JobStatus.SUCCEEDED:
        conversation_turn_build(prompt_id=job.prompt_id)
    return job
