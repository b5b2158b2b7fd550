"""Celery adapters: a job id in, one service call, nothing else.

Services queue these by name (`labelapp.services.jobs.TASKS`); this is the only module that imports
services for Celery.
"""

from celery import Task, shared_task
from celery.contrib.django.task import DjangoTask

from inference import InferenceUnavailable
from labelapp.models import Continuation, EmbeddingJob, Export, GenerationJob, Job, JudgeJob
from labelapp.services.continuations import continuation_run
from labelapp.services.embeddings import embedding_job_run
from labelapp.services.exports import export_job_run
from labelapp.services.generation import generation_job_run
from labelapp.services.jobs import job_fail
from labelapp.services.judge import judge_job_run
from labelapp.services.selection import selection_weights_refresh


class JobTask(DjangoTask):
    """Runs one job of `job_model`, whose id is the task's first argument; a failure marks the job failed.

    Work is saved as it goes and a finished job is not run again, so a redelivered message (acks_late: a
    worker that died mid-job) and a retry resume where the run stopped.
    """

    job_model: type[Job]
    acks_late = True
    # A server that is down or overloaded may come back: retry after 1, 2, 4... s (jittered), then fail.
    autoretry_for = (InferenceUnavailable,)
    retry_backoff = True
    retry_backoff_max = 300
    max_retries = 5

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # type: ignore[no-untyped-def]
        job_fail(model=self.job_model, job_id=args[0], error=f"{type(exc).__name__}: {exc}")


@shared_task(bind=True, base=JobTask, job_model=GenerationJob)
def generation_job_run_task(self: Task, job_id: int) -> None:
    generation_job_run(job_id=job_id)


@shared_task(bind=True, base=JobTask, job_model=Export)
def export_run_task(self: Task, export_id: int) -> None:
    export_job_run(export_id=export_id)


@shared_task(bind=True, base=JobTask, job_model=JudgeJob)
def judge_job_run_task(self: Task, job_id: int) -> None:
    judge_job_run(job_id=job_id)


@shared_task(bind=True, base=JobTask, job_model=EmbeddingJob)
def embedding_job_run_task(self: Task, job_id: int) -> None:
    embedding_job_run(job_id=job_id)


@shared_task(bind=True, base=JobTask, job_model=Continuation)
def continuation_run_task(self: Task, continuation_id: int) -> None:
    continuation_run(continuation_id=continuation_id)


@shared_task(ignore_result=True)
def selection_weights_refresh_task(campaign_id: int) -> None:
    selection_weights_refresh(campaign_id=campaign_id)
