"""`manage.py jobs`: a campaign's jobs as the manage page lists them, and a retry by kind and id."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from labelapp.models import AuditEntry, GenerationJob, JobStatus, JudgeJob


def jobs_command(*args: str) -> str:
    out = StringIO()
    call_command("jobs", *args, stdout=out)
    return out.getvalue()


def test_the_command_lists_the_jobs_the_manage_page_shows(
    campaign, pairwise_items, generator, fake_generate, staff, client_for
):
    call_command("judge_items", "--campaign", "prefs", "--generator", generator.name, "--limit", "2")
    call_command("generate_candidates", "--campaign", "prefs", "--generator", generator.name, "--n", "1")
    generation, judge = GenerationJob.objects.get(), JudgeJob.objects.get()
    listed = jobs_command("--campaign", "prefs").splitlines()
    names = [f"Generation job {generation.pk}", f"Judge job {judge.pk}"]
    assert [line.split("  ")[0].strip() for line in listed] == names
    assert "succeeded" in listed[0] and "3 / 3 prompts" in listed[0]
    assert "succeeded" in listed[1] and "2 / 2 items" in listed[1]
    page = client_for(staff).get("/manage/prefs/").content.decode()
    assert page.index(names[0]) < page.index(names[1])


def test_a_failed_job_is_queued_again_by_kind_and_id(
    campaign, pairwise_items, generator, fake_generate, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    job = JudgeJob.objects.create(
        campaign=campaign, generator=generator, status=JobStatus.FAILED, error="boom"
    )
    with django_capture_on_commit_callbacks(execute=True):
        out = jobs_command("--campaign", "prefs", "--retry", "judge", str(job.pk))
    assert out == f"Judge job {job.pk} queued again; a worker will run what is left of it.\n"
    job.refresh_from_db()
    assert (job.status, job.progress_done, job.error) == (JobStatus.SUCCEEDED, 3, "")
    assert AuditEntry.objects.get().actor_name == "command line"

    with pytest.raises(CommandError, match=f"Judge job {job.pk} has already succeeded"):
        jobs_command("--campaign", "prefs", "--retry", "judge", str(job.pk))
    with pytest.raises(CommandError, match="Unknown job kind 'jugde'"):
        jobs_command("--campaign", "prefs", "--retry", "jugde", str(job.pk))
    with pytest.raises(CommandError, match="The job id must be a number, not 'x'"):
        jobs_command("--campaign", "prefs", "--retry", "judge", "x")


def test_a_job_left_running_is_taken_over_only_with_stuck(
    campaign, generator, django_capture_on_commit_callbacks
):
    job = JudgeJob.objects.create(campaign=campaign, generator=generator, status=JobStatus.RUNNING)
    with pytest.raises(CommandError, match="is running already: nothing to retry"):
        jobs_command("--campaign", "prefs", "--retry", "judge", str(job.pk))
    with django_capture_on_commit_callbacks() as queued:
        jobs_command("--campaign", "prefs", "--retry", "judge", str(job.pk), "--stuck")
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and len(queued) == 1


def test_judge_items_queues_a_judge_job_for_a_worker(
    campaign, pairwise_items, generator, fake_generate, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        call_command("judge_items", "--campaign", "prefs", "--generator", generator.name, "--enqueue")
    job = JudgeJob.objects.get()
    assert (job.status, job.progress_done, job.parse_errors) == (JobStatus.SUCCEEDED, 3, 6)  # both orders
