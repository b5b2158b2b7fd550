from django.conf import settings
from django.db import models


class Export(models.Model):
    """A record of a dataset written to disk: what, where, how many rows, and the command that made it."""

    campaign = models.ForeignKey("labelapp.Campaign", on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=32)
    path = models.CharField(max_length=1000)
    rows = models.PositiveIntegerField(default=0)
    options = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.format} export of {self.campaign} ({self.rows} rows)"
