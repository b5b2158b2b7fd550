"""Background jobs of every kind: one claim / fail / succeed, one retry, and enqueueing by task name.

A kind's run service (`generation_job_run`, `export_job_run`, `judge_job_run`, `embedding_job_run`) starts
with `job_claim`, which takes the job under a row lock and returns None when it has finished already, so a
redelivered or doubled task does nothing. It then reports progress and ends with `job_succeed`; anything it
raises ends in `job_fail`, called by the Celery task's `on_failure` or by the command that ran it inline.

Services queue a job with `job_enqueue`, which looks its task up by name once the transaction commits:
only `labelapp/tasks.py` imports services, never the other way round.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from celery import current_app
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from labelapp.errors import ApplicationError, NotFoundError
from labelapp.models import EmbeddingJob, Export, GenerationJob, Job, JobStatus, JudgeJob
from labelapp.models.jobs import job_display_name
from labelapp.services.audit import audit_record

ERROR_LIMIT = 2000
TASKS: dict[type[Job], str] = {
    GenerationJob: "labelapp.tasks.generation_job_run_task",
    Export: "labelapp.tasks.export_run_task",
    JudgeJob: "labelapp.tasks.judge_job_run_task",
    EmbeddingJob: "labelapp.tasks.embedding_job_run_task",
}

J = TypeVar("J", bound=Job)


def job_claim(*, model: type[J], job_id: int, mark_started: bool = True) -> J | None:
    """Move a queued job (or a running one whose run was interrupted) to running; None if it has finished
    or does not exist. `mark_started=False` leaves `started_at` to the caller (generation sets it once the
    model is loaded, so tokens/s measures generating alone)."""
    with transaction.atomic():
        job = (
            model._default_manager.select_for_update(of=("self",))
            .select_related("campaign")
            .filter(pk=job_id)
            .first()
        )
        if job is None or job.is_finished:
            return None
        job.status = JobStatus.RUNNING
        fields = ["status"]
        if mark_started and job.started_at is None:
            job.started_at = timezone.now()
            fields.append("started_at")
        job.save(update_fields=fields)
        return job


def job_progress(*, job: Job, done: int, total: int | None = None, **counts: int) -> None:
    """Record how far a running job has come, how far it has to go when that is known, and the kind's own
    running counts (a judge's parse errors)."""
    fields = {"progress_done": done, **counts}
    if total is not None:
        fields["progress_total"] = total
    for name, value in fields.items():
        setattr(job, name, value)
    type(job)._default_manager.filter(pk=job.pk).update(**fields)


def job_succeed(*, job: J, partial: bool = False, **fields: Any) -> J:
    """Finish a claimed job: succeeded, or `partial` (completed with failures the job records itself);
    `fields` are the kind's own results, saved with the status."""
    job.status = JobStatus.PARTIAL if partial else JobStatus.SUCCEEDED
    job.finished_at, job.error = timezone.now(), ""
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=["status", "finished_at", "error", *fields])
    return job


def job_fail(*, model: type[Job], job_id: int, error: str) -> None:
    """Mark a job failed with the error, unless it has completed (a late failure report changes nothing)."""
    model._default_manager.filter(pk=job_id).exclude(
        status__in=[JobStatus.SUCCEEDED, JobStatus.PARTIAL]
    ).update(status=JobStatus.FAILED, finished_at=timezone.now(), error=error[:ERROR_LIMIT])


@transaction.atomic
def job_requeue(*, model: type[J], job_id: int, stuck: bool = False) -> J:
    """Make a failed or partly completed job runnable again; its run then does only what is left (the
    prompts without candidates, the items without a verdict, ...).

    `stuck=True` also takes a queued or running job that nobody is running (a killed command, a lost
    worker): the caller vouches for that. Without it such a job is refused, so a second click on "retry"
    never starts a second run beside the first.
    """
    job = model._default_manager.select_for_update().filter(pk=job_id).first()
    if job is None:
        raise NotFoundError(f"{job_display_name(model, job_id)} does not exist.", {"field": "job"})
    refusal = job.retry_refusal()
    if refusal is not None and not (stuck and not job.is_finished):
        raise ApplicationError(f"{job.display_name} {refusal}.", {"field": "job"})
    job.status, job.error, job.finished_at = JobStatus.QUEUED, "", None
    job.save(update_fields=["status", "error", "finished_at"])
    return job


def job_run_inline(*, job: J, run: Callable[..., J], on_progress: Callable[[J], None] | None = None) -> J:
    """Run a job in this process (the command line): `run` is the kind's run service; an error fails the
    job, as a task's would, and is raised on."""
    try:
        return run(job_id=job.pk, on_progress=on_progress)
    except Exception as exc:
        job_fail(model=type(job), job_id=job.pk, error=f"{type(exc).__name__}: {exc}")
        raise


def job_enqueue(*, job: Job) -> None:
    """Send the job to its task's queue once the transaction commits.

    A broker that cannot be reached fails the job with a message saying so, instead of leaving it queued
    with nothing on the queue.
    """
    model, job_id = type(job), job.pk
    transaction.on_commit(lambda: _job_send(model, job_id))


def _job_send(model: type[Job], job_id: int) -> None:
    task = current_app.tasks[TASKS[model]]
    try:
        task.apply_async((job_id,), retry=True, retry_policy={"max_retries": 2})
    except OperationalError as exc:
        job_fail(
            model=model,
            job_id=job_id,
            error=f"Could not queue the job: the broker is unreachable ({exc}). Retry the job once it is back.",
        )


@transaction.atomic
def job_retry(*, job: Job, actor: User | None, stuck: bool = False) -> Job:
    """Staff's retry of a failed or partly completed job of any kind (or a stuck one: `job_requeue`):
    queue it again for a worker, and record who did."""
    model = type(job)
    requeued = job_requeue(model=model, job_id=job.pk, stuck=stuck)
    audit_record(actor=actor, action=f"{model.KIND}.retry", target_type=model.KIND, target_ids=[job.pk])
    job_enqueue(job=requeued)
    return requeued
