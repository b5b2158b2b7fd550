"""The one background-job model: what every long run (generation, export, judge, embeddings) records.

`Job` is an abstract base: each kind of job keeps its own table (GenerationJob, Export, JudgeJob,
EmbeddingJob) with these shared columns plus its own. Chosen over one Job table with a kind and a
one-to-one detail row because:
- a job is read and written as one row: claiming, progress and the outcome are single-row updates under
  one lock, with no join and no second row to keep in step;
- the existing tables keep their rows and their ids (export download URLs, candidates' `job` foreign key),
  so the migration only renames and adds columns, with no copying between tables;
- listing every job of a campaign is one small query per kind (four, at most 20 rows each).
`labelapp.services.jobs` holds the one claim / fail / succeed / retry that every kind goes through.
"""

from typing import ClassVar

from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Completed with failures"
    FAILED = "failed", "Failed"


FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.PARTIAL, JobStatus.FAILED})
RETRYABLE = frozenset({JobStatus.PARTIAL, JobStatus.FAILED})


def job_display_name(model: type["Job"], job_id: int) -> str:
    """How pages, messages and the CLI name a job: "Generation job 4", "Export 7"."""
    return f"{str(model._meta.verbose_name).capitalize()} {job_id}"


class Job(models.Model):
    # The kind's name in URLs, the CLI and the manage page, and what its progress counts.
    KIND: ClassVar[str]
    PROGRESS_UNIT: ClassVar[str]

    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0, help_text="0 while not known yet.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def display_name(self) -> str:
        return job_display_name(type(self), self.pk)

    def retry_refusal(self) -> str | None:
        """Why the job cannot be retried (completing "Generation job 4 ..."), or None if it can: only a
        failed or partly completed job can, and it then does only what is left."""
        if self.status == JobStatus.SUCCEEDED:
            return "has already succeeded"
        if self.status not in RETRYABLE:
            return f"is {self.status} already: nothing to retry"
        return None

    @property
    def is_retryable(self) -> bool:
        return self.retry_refusal() is None

    @property
    def progress_in_words(self) -> str:
        """How far it has come: "3 / 10 prompts", or "1200 rows" while the total is not known."""
        done = (
            f"{self.progress_done} / {self.progress_total}"
            if self.progress_total
            else f"{self.progress_done}"
        )
        return f"{done} {self.PROGRESS_UNIT}"

    @property
    def outcome(self) -> str:
        """The status in words, as the manage page and the CLI show it."""
        return JobStatus(self.status).label.lower()
