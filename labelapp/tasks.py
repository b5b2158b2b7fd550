"""Celery adapters: ids in, one service call, nothing else."""

from celery import Task, shared_task
from celery.contrib.django.task import DjangoTask

from inference import InferenceUnavailable
from labelapp.models import Campaign, Generator
from labelapp.services.embeddings import candidate_embeddings_compute
from labelapp.services.exports import export_job_fail, export_job_run
from labelapp.services.generation import generation_job_fail, generation_job_run
from labelapp.services.judge import items_judge


class GenerationTask(DjangoTask):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # type: ignore[no-untyped-def]
        generation_job_fail(job_id=args[0], error=f"{type(exc).__name__}: {exc}")


@shared_task(
    bind=True,
    base=GenerationTask,
    acks_late=True,
    # A server that is down or overloaded may come back: retry after 1, 2, 4... s (jittered), then fail.
    autoretry_for=(InferenceUnavailable,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def generation_job_run_task(self: Task, job_id: int) -> None:
    generation_job_run(job_id=job_id)


@shared_task(
    bind=True,
    base=DjangoTask,
    acks_late=True,
    autoretry_for=(InferenceUnavailable,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def items_judge_task(self: Task, campaign_id: int, generator_id: int, limit: int | None = None) -> None:
    # Verdicts are saved per model call and judged items skipped, so a retry resumes where it stopped.
    items_judge(
        campaign=Campaign.objects.get(pk=campaign_id),
        generator=Generator.objects.get(pk=generator_id),
        limit=limit,
    )


class ExportTask(DjangoTask):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # type: ignore[no-untyped-def]
        export_job_fail(export_id=args[0], error=f"{type(exc).__name__}: {exc}")


@shared_task(bind=True, base=ExportTask, acks_late=True)
def export_run_task(self: Task, export_id: int) -> None:
    export_job_run(export_id=export_id)


@shared_task(bind=True, base=DjangoTask, acks_late=True)
def candidate_embeddings_task(self: Task, campaign_id: int) -> None:
    # Embeddings are saved per batch and current ones skipped, so a retried run resumes where it stopped.
    candidate_embeddings_compute(campaign=Campaign.objects.get(pk=campaign_id))
