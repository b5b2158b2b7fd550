from django.conf import settings
from django.db import models

LABELLERS_GROUP = "labellers"
REVIEWER_SKILL = "reviewer"  # a labeller who gives the final label of items whose labellers disagree


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


class LabellerProfile(models.Model):
    """What routing needs to know about a labeller: skills, and whether an admin suspended them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="labeller_profile"
    )
    skills = models.JSONField(default=list, blank=True, help_text='e.g. ["expert:math", "lang:fr"]')
    suspended = models.BooleanField(default=False)
    suspended_reason = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"labeller profile of {self.user_id}"
