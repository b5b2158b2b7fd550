from pathlib import Path

from django.conf import settings
from django.db import models

from labelapp.models.jobs import Job


class ExportOutput(models.TextChoices):
    JSONL = "jsonl", "JSON Lines file"
    PARQUET = "parquet", "Parquet file"
    DATASET = "dataset", "datasets DatasetDict folder (save_to_disk)"


class Export(Job):
    """A dataset written to disk, or being written: what, where, how many rows, and how to make it again.

    Its progress counts the rows written; `progress_done` is all of them once it has succeeded.
    """

    KIND = "export"
    PROGRESS_UNIT = "rows"

    campaign = models.ForeignKey("labelapp.Campaign", on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=32)
    output = models.CharField(max_length=16, choices=ExportOutput.choices, default=ExportOutput.JSONL)
    options = models.JSONField(default=dict, blank=True)
    path = models.CharField(max_length=1000, blank=True, help_text="The file or folder written.")
    files = models.JSONField(default=list, blank=True, help_text="Every path written, dataset card included.")
    download_path = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Exports started from the app: the one file a download serves (a .zip when there are several).",
    )
    command = models.TextField(blank=True, help_text="The export_dataset command that makes the same export.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.format} export of {self.campaign} ({self.status}, {self.rows} rows)"

    @property
    def rows(self) -> int:
        return self.progress_done

    def retry_refusal(self) -> str | None:
        # A worker writes only under LABELAPP_EXPORT_DIR: an export the command line wrote elsewhere (on
        # another machine, maybe) is made again by running its command there.
        folder = Path(settings.LABELAPP_EXPORT_DIR).resolve()
        if self.path and not Path(self.path).resolve().is_relative_to(folder):
            return f"was written by the command line to {self.path}: run its command again"
        return super().retry_refusal()
