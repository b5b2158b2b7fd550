from django.conf import settings
from django.db import models


class ReviewItem(models.Model):
    """An item whose labellers disagreed, waiting for a reviewer's final label (services/reviews.py).

    Reserved to one reviewer at a time until `reserved_until`, as a lease reserves an item to a labeller;
    the row goes once the item is adjudicated.
    """

    item = models.OneToOneField("labelapp.Item", on_delete=models.CASCADE, related_name="review")
    campaign = models.ForeignKey("labelapp.Campaign", on_delete=models.CASCADE, related_name="review_items")
    agreement = models.FloatField(help_text="The labels' agreement when the item was sent to review.")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reserved_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["campaign", "reserved_until"], name="reviewitem_queue")]

    def __str__(self) -> str:
        return f"review of item {self.item_id}"


class Adjudication(models.Model):
    """A reviewer's final label of an item, in canonical order: the item's consensus in every export."""

    item = models.OneToOneField("labelapp.Item", on_delete=models.CASCADE, related_name="adjudication")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="adjudications"
    )
    value = models.JSONField()
    rationale = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"adjudication of item {self.item_id}"
