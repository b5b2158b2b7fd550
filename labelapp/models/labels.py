from django.conf import settings
from django.db import models


class Label(models.Model):
    """One labeller's judgement of one item, in the item's canonical candidate order."""

    item = models.ForeignKey("labelapp.Item", on_delete=models.CASCADE, related_name="labels")
    labeller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="labels")
    value = models.JSONField()
    seconds_spent = models.FloatField(default=0)
    idempotency_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "labeller"], name="label_unique_item_labeller"),
            models.UniqueConstraint(
                fields=["labeller", "idempotency_key"], name="label_unique_idempotency_key"
            ),
        ]

    def __str__(self) -> str:
        return f"label {self.pk} on item {self.item_id}"
