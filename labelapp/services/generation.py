"""Generation jobs: create one, run it in batches of prompts, record candidates and progress."""

import dataclasses
from collections.abc import Callable, Sequence

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

import inference
from labelapp.errors import ApplicationError
from labelapp.models import Campaign, Candidate, GenerationJob, GenerationJobStatus, Generator, Prompt

PROMPTS_PER_CHUNK = 4

ProgressCallback = Callable[[GenerationJob], None]


def generator_model_spec(generator: Generator) -> inference.ModelSpec:
    if generator.model == "embedded":
        return dataclasses.replace(
            inference.EMBEDDED_MODEL,
            prompt_format=generator.prompt_format,
            raw_template=generator.raw_template,
        )
    return inference.ModelSpec(
        model=generator.model,
        gguf_file=generator.gguf_file or None,
        prompt_format=generator.prompt_format,
        raw_template=generator.raw_template,
    )


def sampling_params_for(*, generator: Generator, overrides: dict) -> inference.SamplingParams:
    """The generator's defaults with the job's overrides on top; a bad value names its field."""
    merged = {**generator.default_params, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return inference.SamplingParams.from_dict(merged)
    except inference.InferenceError as exc:
        raise ApplicationError(str(exc), {"field": "params"}) from None


@transaction.atomic
def generation_job_create(
    *, campaign: Campaign, generator: Generator, params: inference.SamplingParams
) -> GenerationJob:
    prompts_total = campaign.prompts.count()
    if prompts_total == 0:
        raise ApplicationError(
            f"Campaign '{campaign.name}' has no prompts: import some first.", {"field": "campaign"}
        )
    job = GenerationJob(
        campaign=campaign, generator=generator, params=params.to_dict(), prompts_total=prompts_total
    )
    job.full_clean()
    job.save()
    return job


def generation_job_enqueue(*, job: GenerationJob) -> None:
    from labelapp.tasks import generation_job_run_task  # tasks.py imports this module

    generation_job_run_task.delay_on_commit(job.pk)


def _job_claim(job_id: int) -> GenerationJob | None:
    """Move a queued (or interrupted, running) job to running; None if it is already finished."""
    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().select_related("generator", "campaign").get(pk=job_id)
        if job.is_finished:
            return None
        job.status = GenerationJobStatus.RUNNING
        job.save(update_fields=["status"])
        return job


def _prompts_pending(job: GenerationJob, n: int) -> list[Prompt]:
    """Prompts of the campaign that do not yet have all n samples from this job (a retry skips the rest)."""
    return list(
        job.campaign.prompts.annotate(done=Count("candidates", filter=Q(candidates__job=job)))
        .filter(done__lt=n)
        .order_by("id")
    )


def _request_for(prompt: Prompt) -> inference.GenerationRequest:
    if prompt.messages is not None:
        return inference.GenerationRequest(messages=tuple(prompt.messages))
    return inference.GenerationRequest(prompt=prompt.text)


@transaction.atomic
def candidate_bulk_create(
    *, job: GenerationJob, prompts: Sequence[Prompt], completions: Sequence[inference.Completion]
) -> list[Candidate]:
    candidates = [
        Candidate(
            prompt=prompts[c.request_index],
            generator=job.generator,
            job=job,
            sample_index=c.sample_index,
            text=c.text,
            rendered_prompt=c.rendered_prompt,
            params=job.params,
            seed=c.seed,
            finish_reason=c.finish_reason,
            token_count=c.token_count,
            logprob_sum=c.logprob_sum,
            logprob_mean=c.logprob_mean,
        )
        for c in completions
    ]
    created = Candidate.objects.bulk_create(candidates)
    GenerationJob.objects.filter(pk=job.pk).update(
        prompts_done=F("prompts_done") + len(prompts),
        tokens_generated=F("tokens_generated") + sum(c.token_count for c in completions),
    )
    return created


def generation_job_run(*, job_id: int, on_progress: ProgressCallback | None = None) -> GenerationJob:
    """Generate every pending prompt's samples, a chunk of prompts at a time; safe to run again after a crash."""
    job = _job_claim(job_id)
    if job is None:
        return GenerationJob.objects.get(pk=job_id)
    params = inference.SamplingParams.from_dict(job.params)
    spec = generator_model_spec(job.generator)
    inference.preload(spec)
    pending = _prompts_pending(job, params.n)
    # started_at marks the end of model loading, so tokens/s measures generation alone.
    GenerationJob.objects.filter(pk=job.pk).update(
        prompts_done=job.prompts_total - len(pending), started_at=job.started_at or timezone.now()
    )
    for start in range(0, len(pending), PROMPTS_PER_CHUNK):
        chunk = pending[start : start + PROMPTS_PER_CHUNK]
        # Partly written prompts (a crash mid-chunk) are regenerated whole; drop their partial samples.
        Candidate.objects.filter(job=job, prompt__in=chunk).delete()
        chunk_params = (
            params if params.seed is None else dataclasses.replace(params, seed=params.seed + chunk[0].pk)
        )
        completions = inference.generate(
            spec=spec, requests=[_request_for(p) for p in chunk], params=chunk_params
        )
        candidate_bulk_create(job=job, prompts=chunk, completions=completions)
        if on_progress:
            job.refresh_from_db()
            on_progress(job)
    GenerationJob.objects.filter(pk=job.pk).update(
        status=GenerationJobStatus.SUCCEEDED, finished_at=timezone.now(), error=""
    )
    job.refresh_from_db()
    return job


def generation_job_fail(*, job_id: int, error: str) -> None:
    GenerationJob.objects.filter(pk=job_id).exclude(status=GenerationJobStatus.SUCCEEDED).update(
        status=GenerationJobStatus.FAILED, finished_at=timezone.now(), error=error[:2000]
    )
