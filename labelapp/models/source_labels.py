from django.db import models


class SourceLabel(models.Model):
    """An imported dataset's own verdict on an item: HH-RLHF's chosen answer, SHP's upvotes, an Arena vote.

    Kept in its own table, apart from human labels, like JudgeLabel: nothing that reads `Label` (queues,
    agreement, the dashboard, exports) sees it, and labellers never see it. `value` is in the item's
    canonical order and its kind's label shape ({"choice": "a"} on a pairwise item, {"order": [...]} on a
    ranking), holding only what the dataset says; `raw` keeps the dataset's own fields behind it (scores,
    ratings, the Arena judge).
    """

    item = models.ForeignKey("labelapp.Item", on_delete=models.CASCADE, related_name="source_labels")
    source = models.CharField(
        max_length=100, help_text="The dataset it came from: the import's source name, by default the format."
    )
    format = models.CharField(max_length=32, help_text="The import format that read it, e.g. hh-rlhf.")
    value = models.JSONField()
    raw = models.JSONField(default=dict, blank=True)
    origin = models.CharField(max_length=300, blank=True, help_text="File and line it was imported from.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "source"], name="sourcelabel_unique_item_source")
        ]

    def __str__(self) -> str:
        return f"{self.source} label on item {self.item_id}"
