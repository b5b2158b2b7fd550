from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """Who did what to which rows, from the admin or an export: written by services, never edited."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    actor_name = models.CharField(max_length=150, help_text="Kept when the user is deleted.")
    action = models.CharField(
        max_length=80, help_text='e.g. "label.change", "item.mark_gold", "export.create"'
    )
    target_type = models.CharField(max_length=80)
    target_ids = models.JSONField(default=list, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "action"])]

    def __str__(self) -> str:
        return f"{self.actor_name}: {self.action} on {self.target_type} {self.target_ids}"
