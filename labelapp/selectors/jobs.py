"""Background jobs as staff see them: on the manage page and from `manage.py jobs`."""

from labelapp.errors import NotFoundError
from labelapp.models import JOB_MODELS, Campaign, EmbeddingJob, Export, GenerationJob, Job, JudgeJob
from labelapp.models.jobs import job_display_name


def jobs_for_campaign(*, campaign: Campaign, limit: int = 20) -> list[Job]:
    """The campaign's latest jobs of every kind, newest first: one query per kind."""
    latest = (
        GenerationJob.objects.filter(campaign=campaign).select_related("generator"),
        Export.objects.filter(campaign=campaign).defer("command", "files", "options"),
        JudgeJob.objects.filter(campaign=campaign).select_related("generator"),
        EmbeddingJob.objects.filter(campaign=campaign),
    )
    jobs: list[Job] = [job for jobs in latest for job in jobs.order_by("-created_at", "-id")[:limit]]
    return sorted(jobs, key=lambda job: job.created_at, reverse=True)[:limit]


def job_get(*, campaign: Campaign, kind: str, job_id: int) -> Job:
    """A job of the campaign, by its kind's name ("generation", "export", "judge", "embeddings") and id."""
    model = JOB_MODELS.get(kind)
    if model is None:
        raise NotFoundError(
            f"Unknown job kind '{kind}'. Allowed: {', '.join(JOB_MODELS)}.", {"field": "kind"}
        )
    # Every kind of job has its campaign (declared by each, for its own related name).
    job = model._default_manager.filter(campaign=campaign, pk=job_id).first()  # type: ignore[misc]
    if job is None:
        raise NotFoundError(
            f"{job_display_name(model, job_id)} is not a job of campaign '{campaign.name}'.", {"field": "job"}
        )
    return job
