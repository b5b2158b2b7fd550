from django.db import models


class JudgeLabel(models.Model):
    """A generator's verdict on an item, acting as an AI judge.

    Kept in its own table, apart from human labels: nothing that reads `Label` (queues, agreement,
    exports) sees it. `value` is in the item's canonical order like a human label's, or null when the
    judge's answer did not parse; `raw_output` is what the model wrote either way.
    """

    item = models.ForeignKey("labelapp.Item", on_delete=models.CASCADE, related_name="judge_labels")
    generator = models.ForeignKey("labelapp.Generator", on_delete=models.PROTECT, related_name="judge_labels")
    value = models.JSONField(null=True, blank=True)
    raw_output = models.TextField(blank=True)
    parse_error = models.CharField(max_length=300, blank=True)
    rendered_prompt = models.TextField(blank=True)
    params = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "generator"], name="judgelabel_unique_item_generator"),
            models.CheckConstraint(
                condition=models.Q(value__isnull=True, parse_error__gt="")
                | models.Q(value__isnull=False, parse_error=""),
                name="judgelabel_value_or_parse_error",
                violation_error_message="A judge label has a value or a parse error, not both.",
            ),
        ]

    def __str__(self) -> str:
        return f"judge label by {self.generator_id} on item {self.item_id}"
