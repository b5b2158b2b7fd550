import random

from django.db import models

LABELS_WANTED_UNSET = 32767  # the largest PositiveSmallIntegerField: no ask below labels_per_item


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
    # How many labels the item asks for now (services/overlap.py): the queue stops at this or the campaign's
    # labels_per_item, whichever is fewer. items_create sets it; the default leaves only labels_per_item.
    labels_wanted = models.PositiveSmallIntegerField(default=LABELS_WANTED_UNSET, editable=False)
    # Pairwise: the compared candidates' generator ids, smaller first ("3-7"), for active selection's look at
    # one pair; set by services.selection, "" until then.
    pair_key = models.CharField(max_length=32, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Only items that still want labels: the queue's look never walks items settled early. The
            # last column is not for order: with it the index covers the look, which reads no table row.
            models.Index(
                fields=["campaign", "is_gold", "-label_count", "-priority", "order_key", "labels_wanted"],
                name="item_assignment_order",
                condition=models.Q(label_count__lt=models.F("labels_wanted")),
            ),
            models.Index(
                fields=[
                    "campaign",
                    "pair_key",
                    "is_gold",
                    "-label_count",
                    "-priority",
                    "order_key",
                    "labels_wanted",
                ],
                name="item_pair_assignment_order",
                condition=models.Q(label_count__lt=models.F("labels_wanted")),
            ),
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
