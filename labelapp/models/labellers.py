from django.conf import settings
from django.db import models

LABELLERS_GROUP = "labellers"


class Lease(models.Model):
    """An item reserved for one labeller until `expires_at`; an expired lease counts for nothing."""

    item = models.ForeignKey("labelapp.Item", on_delete=models.CASCADE, related_name="leases")
    labeller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leases")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "labeller"], name="lease_unique_item_labeller")
        ]
        indexes = [models.Index(fields=["labeller", "expires_at"])]

    def __str__(self) -> str:
        return f"lease of item {self.item_id} to {self.labeller_id}"
