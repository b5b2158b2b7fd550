"""The one job lifecycle every kind of job goes through: claim, fail, succeed, retry, and queueing by name."""

import pytest
from celery import current_app
from kombu.exceptions import OperationalError

from labelapp.errors import ApplicationError, NotFoundError
from labelapp.models import (
    JOB_MODELS,
    AuditEntry,
    EmbeddingJob,
    Export,
    GenerationJob,
    Job,
    JobStatus,
    JudgeJob,
)
from labelapp.services.jobs import (
    TASKS,
    job_claim,
    job_enqueue,
    job_fail,
    job_requeue,
    job_retry,
    job_succeed,
)


@pytest.fixture
def new_job(campaign, generator, settings, tmp_path):
    """A queued job of the given kind in the `prefs` campaign."""
    settings.LABELAPP_EXPORT_DIR = tmp_path

    def make(kind: str, **fields) -> Job:
        extra = {
            "generation": {"generator": generator, "params": {"n": 1}},
            "export": {"format": "dpo", "path": str(tmp_path / "prefs-dpo.jsonl")},
            "judge": {"generator": generator},
            "embeddings": {"model": "all-MiniLM-L6-v2"},
        }[kind]
        return JOB_MODELS[kind].objects.create(campaign=campaign, **{**extra, **fields})

    return make


@pytest.mark.parametrize("kind", JOB_MODELS)
def test_a_job_is_claimed_once_queued_and_never_again_once_finished(new_job, kind):
    job = new_job(kind)
    claimed = job_claim(model=type(job), job_id=job.pk)
    assert claimed.status == JobStatus.RUNNING and claimed.started_at is not None
    # A redelivered task finds it running (its worker died) and resumes it, keeping when it first started.
    again = job_claim(model=type(job), job_id=job.pk)
    assert again.status == JobStatus.RUNNING and again.started_at == claimed.started_at

    job_succeed(job=again, partial=kind == "generation")
    assert job_claim(model=type(job), job_id=job.pk) is None
    assert job_claim(model=type(job), job_id=job.pk + 1000) is None  # deleted: nothing to run


@pytest.mark.parametrize("kind", JOB_MODELS)
def test_a_late_failure_does_not_undo_a_completed_job(new_job, kind):
    succeeded = new_job(kind, status=JobStatus.SUCCEEDED)
    partial = new_job(kind, status=JobStatus.PARTIAL)
    running = new_job(kind, status=JobStatus.RUNNING)
    for job in (succeeded, partial, running):
        job_fail(model=type(job), job_id=job.pk, error="WorkerLostError: " + "x" * 3000)
    statuses = dict(type(succeeded).objects.values_list("pk", "status"))
    assert statuses == {succeeded.pk: "succeeded", partial.pk: "partial", running.pk: "failed"}
    running.refresh_from_db()
    assert running.error.startswith("WorkerLostError: ") and len(running.error) == 2000
    assert running.finished_at is not None and running.is_retryable


def test_only_a_failed_or_partly_completed_job_is_retried(new_job, staff, django_capture_on_commit_callbacks):
    failed = new_job("judge", status=JobStatus.FAILED, error="RuntimeError: GPU fell over")
    with django_capture_on_commit_callbacks() as queued:
        job = job_retry(job=failed, actor=staff)
    assert (job.status, job.error, job.finished_at, len(queued)) == (JobStatus.QUEUED, "", None, 1)
    # A second click while it waits for a worker is refused and queues nothing.
    with django_capture_on_commit_callbacks() as queued, pytest.raises(ApplicationError) as refused:
        job_retry(job=failed, actor=staff)
    assert refused.value.message == f"Judge job {failed.pk} is queued already: nothing to retry."
    assert queued == []
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.target_ids) == (staff, "judge.retry", [failed.pk])

    done = new_job("generation", status=JobStatus.SUCCEEDED)
    with pytest.raises(ApplicationError, match=f"Generation job {done.pk} has already succeeded"):
        job_retry(job=done, actor=staff)
    running = new_job("embeddings", status=JobStatus.RUNNING)
    with pytest.raises(ApplicationError, match="is running already: nothing to retry"):
        job_retry(job=running, actor=staff)


def test_a_job_nobody_runs_is_taken_over_only_when_the_caller_says_so(new_job):
    stuck = new_job("generation", status=JobStatus.RUNNING)
    assert job_requeue(model=GenerationJob, job_id=stuck.pk, stuck=True).status == JobStatus.QUEUED
    assert job_requeue(model=GenerationJob, job_id=stuck.pk, stuck=True).status == JobStatus.QUEUED
    done = new_job("generation", status=JobStatus.SUCCEEDED)
    with pytest.raises(ApplicationError, match="has already succeeded"):
        job_requeue(model=GenerationJob, job_id=done.pk, stuck=True)
    with pytest.raises(NotFoundError, match="Generation job 999 does not exist"):
        job_requeue(model=GenerationJob, job_id=999)


def test_an_export_the_command_line_wrote_is_not_retried_by_a_worker(new_job, staff, tmp_path):
    written_elsewhere = new_job("export", status=JobStatus.FAILED, path="/data/mine.jsonl")
    assert not written_elsewhere.is_retryable
    with pytest.raises(ApplicationError, match="written by the command line to /data/mine.jsonl"):
        job_retry(job=written_elsewhere, actor=staff)
    assert new_job("export", status=JobStatus.FAILED).is_retryable


def test_every_kind_of_job_is_queued_by_its_task_name(settings):
    for model in JOB_MODELS.values():
        task = current_app.tasks[TASKS[model]]
        assert task.job_model is model and task.acks_late
    routes = settings.CELERY_TASK_ROUTES
    assert [model.KIND for model in TASKS if routes.get(TASKS[model]) == {"queue": "inference"}] == [
        "generation",
        "judge",
        "embeddings",
    ]


def test_a_job_is_sent_only_once_its_transaction_commits_and_eager_mode_runs_it(
    campaign, pairwise_items, generator, settings, fake_generate, django_capture_on_commit_callbacks
):
    from labelapp.services.judge import judge_job_create

    settings.CELERY_TASK_ALWAYS_EAGER = True
    job = judge_job_create(campaign=campaign, generator=generator)
    with django_capture_on_commit_callbacks() as queued:
        job_enqueue(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and fake_generate.calls == []  # not before the commit
    queued[0]()
    job.refresh_from_db()
    assert (job.status, job.progress_done, job.progress_total) == (JobStatus.SUCCEEDED, 3, 3)


@pytest.mark.parametrize("kind", ["export", "judge", "embeddings"])
def test_a_job_the_broker_cannot_take_fails_with_a_message(
    new_job, kind, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    job = new_job(kind)
    monkeypatch.setattr(current_app.tasks[TASKS[type(job)]], "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        job_enqueue(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "broker is unreachable" in job.error and "Connection refused" in job.error


def test_jobs_are_named_and_their_progress_put_in_words():
    job = GenerationJob(pk=4, progress_done=3, progress_total=10)
    assert (job.display_name, job.progress_in_words) == ("Generation job 4", "3 / 10 prompts")
    export = Export(pk=7, progress_done=1200)  # the total is known once it is written
    assert (export.display_name, export.progress_in_words) == ("Export 7", "1200 rows")
    assert JudgeJob(pk=2, status=JobStatus.PARTIAL).outcome == "completed with failures"
    assert EmbeddingJob(pk=1).display_name == "Embedding job 1"
