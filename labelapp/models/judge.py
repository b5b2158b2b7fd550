from django.db import models

from labelapp.models.jobs import Job


class JudgeLabel(models.Model):
    """A generator's verdict on an item, acting as an AI judge.

    Kept in its own table, apart from human labels: nothing that reads `Label` (queues, agreement,
    exports) sees it. `value` is in the item's canonical order like a human label's, or null when the
    judge's answer did not parse; `raw_output` is what the model wrote either way. A judge sees an item of
    several candidates twice: in the order labellers see it, and reversed (`order_reversed`), so a verdict
    that follows the position rather than the answer shows up as two verdicts that differ. `confidence` is
    the probability the model gave its whole answer (exp of its tokens' logprob sum), null where the
    backend gave no logprobs.
    """

    item = models.ForeignKey("labelapp.Item", on_delete=models.CASCADE, related_name="judge_labels")
    generator = models.ForeignKey("labelapp.Generator", on_delete=models.PROTECT, related_name="judge_labels")
    order_reversed = models.BooleanField(default=False)
    value = models.JSONField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    raw_output = models.TextField(blank=True)
    parse_error = models.CharField(max_length=300, blank=True)
    rendered_prompt = models.TextField(blank=True)
    params = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "generator", "order_reversed"], name="judgelabel_unique_item_generator_order"
            ),
            models.CheckConstraint(
                condition=models.Q(value__isnull=True, parse_error__gt="")
                | models.Q(value__isnull=False, parse_error=""),
                name="judgelabel_value_or_parse_error",
                violation_error_message="A judge label has a value or a parse error, not both.",
            ),
        ]

    def __str__(self) -> str:
        order = "reversed" if self.order_reversed else "as shown"
        return f"judge label by {self.generator_id} on item {self.item_id} ({order})"


class JudgeJob(Job):
    """A generator judging a campaign's items it has not judged yet, at most `limit` of them; progress counts
    items judged (an answer that does not parse counts too, in `parse_errors` as well). An item judged in
    both orders whose two parsed verdicts differ counts in `order_inconsistent`."""

    KIND = "judge"
    PROGRESS_UNIT = "items"

    campaign = models.ForeignKey("labelapp.Campaign", on_delete=models.CASCADE, related_name="judge_jobs")
    generator = models.ForeignKey("labelapp.Generator", on_delete=models.PROTECT, related_name="judge_jobs")
    limit = models.PositiveIntegerField(null=True, blank=True, help_text="Judge at most this many items.")
    parse_errors = models.PositiveIntegerField(default=0)
    order_inconsistent = models.PositiveIntegerField(
        default=0, help_text="Items whose verdicts in the two orders differ."
    )
    items_remaining = models.PositiveIntegerField(
        default=0, help_text="Items of the campaign still without a verdict from this judge when it finished."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"judge job {self.pk} ({self.generator_id} on {self.campaign_id}, {self.outcome})"
