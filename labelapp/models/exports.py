from django.conf import settings
from django.db import models


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ExportOutput(models.TextChoices):
    JSONL = "jsonl", "JSON Lines file"
    PARQUET = "parquet", "Parquet file"
    DATASET = "dataset", "datasets DatasetDict folder (save_to_disk)"


class Export(models.Model):
    """A dataset written to disk, or being written: what, where, how many rows, and how to make it again."""

    campaign = models.ForeignKey("labelapp.Campaign", on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=32)
    output = models.CharField(max_length=16, choices=ExportOutput.choices, default=ExportOutput.JSONL)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    path = models.CharField(max_length=1000, blank=True, help_text="The file or folder written.")
    files = models.JSONField(default=list, blank=True, help_text="Every path written, dataset card included.")
    download_path = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Exports started from the app: the one file a download serves (a .zip when there are several).",
    )
    rows = models.PositiveIntegerField(default=0)
    command = models.TextField(blank=True, help_text="The export_dataset command that makes the same export.")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.format} export of {self.campaign} ({self.status}, {self.rows} rows)"

    @property
    def is_finished(self) -> bool:
        return self.status in {ExportStatus.SUCCEEDED, ExportStatus.FAILED}
