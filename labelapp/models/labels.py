from django.conf import settings
from django.db import models


class Label(models.Model):
    """One labeller's judgement of one item, in the item's canonical candidate order."""

    item = models.ForeignKey("labelapp.Item", on_delete=models.CASCADE, related_name="labels")
    labeller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="labels")
    value = models.JSONField()
    seconds_spent = models.FloatField(default=0)
    idempotency_key = models.CharField(max_length=64)
    gold_correct = models.BooleanField(
        null=True, blank=True, help_text="On gold items: matched the known answer."
    )
    shown_order = models.JSONField(
        null=True,
        blank=True,
        help_text="The canonical index of the candidate shown to this labeller at each position, in shown "
        "order; null for a label not given through the labelling page or API.",
    )
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


class Skip(models.Model):
    """A labeller passed on an item: it goes back to the pool for others and never returns to them."""

    item = models.ForeignKey("labelapp.Item", on_delete=models.CASCADE, related_name="skips")
    labeller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skips")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "labeller"], name="skip_unique_item_labeller")]

    def __str__(self) -> str:
        return f"skip of item {self.item_id} by {self.labeller_id}"
