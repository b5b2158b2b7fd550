from django.db import models


class Prompt(models.Model):
    """One input shown to a model: plain text, or a list of chat messages ({"role", "content"})."""

    campaign = models.ForeignKey("labelapp.Campaign", on_delete=models.CASCADE, related_name="prompts")
    text = models.TextField(blank=True)
    messages = models.JSONField(null=True, blank=True)
    reference_answer = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=300, blank=True, help_text="File and line it was imported from.")
    content_key = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Imported prompts: hash of the text or messages; importing the same prompt again adds nothing.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "content_key"],
                condition=~models.Q(content_key=""),
                name="prompt_unique_content",
            ),
            models.CheckConstraint(
                condition=~models.Q(text="") | models.Q(messages__isnull=False),
                name="prompt_has_text_or_messages",
            ),
        ]

    def __str__(self) -> str:
        return self.display_text[:60]

    @property
    def is_conversational(self) -> bool:
        return self.messages is not None

    @property
    def display_text(self) -> str:
        if self.messages is None:
            return self.text
        return "\n\n".join(f"{m['role']}: {m['content']}" for m in self.messages)
