import random

from django.db import models


def random_order_key() -> float:
    return random.random()


class Item(models.Model):
    """One unit of labelling work: a prompt with the candidates a labeller judges together."""

    campaign = models.ForeignKey("labelapp.Campaign", on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=32)
    # RESTRICT, not CASCADE: a campaign's own items go with it, but deleting a campaign whose prompts and
    # candidates another campaign's items judge (build_items --source-campaign) is refused, naming them.
    prompt = models.ForeignKey("labelapp.Prompt", on_delete=models.RESTRICT, related_name="items")
    candidates = models.ManyToManyField("labelapp.Candidate", through="ItemCandidate", related_name="items")
    priority = models.SmallIntegerField(default=0)
    is_gold = models.BooleanField(
        default=False, help_text="Has a known answer; scores labellers, never exported."
    )
    gold_value = models.JSONField(null=True, blank=True, help_text="The known answer, in canonical order.")
    # Kept by label_submit under the item's row lock, so assignment can walk an index instead of
    # counting every item's labels; "random among the rest" is a random key drawn once per item.
    label_count = models.PositiveIntegerField(default=0, editable=False)
    order_key = models.FloatField(default=random_order_key, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["campaign", "is_gold", "-label_count", "-priority", "order_key"],
                name="item_assignment_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} item {self.pk}"


class ItemCandidate(models.Model):
    """A candidate's place in an item.

    `index` is the canonical order (labels are stored in it, exports read it); `position` is the item's own
    shown order, drawn when the item is built: the order the AI judge sees, and the one labels given before
    shown orders were drawn per labeller were given in. Labellers see the order
    `selectors.items.shown_order_for_labeller` draws for them, kept with each label (Label.shown_order).
    """

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="slots")
    candidate = models.ForeignKey("labelapp.Candidate", on_delete=models.RESTRICT, related_name="slots")
    index = models.PositiveSmallIntegerField()
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["item", "index"]
        constraints = [
            models.UniqueConstraint(fields=["item", "index"], name="itemcandidate_unique_index"),
            models.UniqueConstraint(fields=["item", "position"], name="itemcandidate_unique_position"),
            models.UniqueConstraint(fields=["item", "candidate"], name="itemcandidate_unique_candidate"),
        ]

    def __str__(self) -> str:
        return f"candidate {self.candidate_id} at index {self.index}, position {self.position} of item {self.item_id}"
