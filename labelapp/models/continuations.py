from django.db import models

from labelapp.models.jobs import Job, JobStatus


class ContinuationStop(models.TextChoices):
    """Why a conversation ends at an item instead of going on from its preferred reply."""

    SPLIT = "split", "the labellers split evenly"
    TIE = "tie", "the labellers judged the replies a tie"
    BOTH_BAD = "both_bad", "the labellers judged both replies bad"
    NO_MESSAGE = "no_message", "no labeller wrote the next message and the campaign has no user simulator"
    SIMULATOR_SILENT = "simulator_silent", "the user simulator wrote an empty message"
    IDENTICAL_ANSWERS = "identical_answers", "the generators gave the next message two identical answers"
    IMPORTED_REPLY = "imported_reply", "a compared reply was imported from a file: no model can answer on"


class MessageSource(models.TextChoices):
    LABELLER = "labeller", "a labeller"
    USER_SIMULATOR = "user-simulator", "the user simulator"


class Continuation(Job):
    """The next turn of a conversation, due once a pairwise item's labels are in; progress counts the one
    prompt it makes.

    Recorded by the label that completes the item (in its transaction, one per item); its run picks the
    preferred reply and the next user message, makes the next prompt and the generation job(s) that answer
    it twice; the item of that pair is built when they succeed.
    """

    KIND = "continuation"
    PROGRESS_UNIT = "prompts"

    campaign = models.ForeignKey("labelapp.Campaign", on_delete=models.CASCADE, related_name="continuations")
    item = models.OneToOneField("labelapp.Item", on_delete=models.CASCADE, related_name="continuation")
    stopped = models.CharField(
        max_length=32,
        choices=ContinuationStop.choices,
        blank=True,
        help_text="Why the conversation ends here.",
    )
    message_source = models.CharField(max_length=16, choices=MessageSource.choices, blank=True)
    message_label = models.ForeignKey(
        "labelapp.Label",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The label whose next message the conversation goes on with.",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"continuation {self.pk} of item {self.item_id} ({self.outcome})"

    @property
    def outcome(self) -> str:
        """The status in words: "stopped: the labellers judged the replies a tie" once it ended the conversation."""
        if self.status == JobStatus.SUCCEEDED and self.stopped:
            return f"stopped: {ContinuationStop(self.stopped).label}"
        if self.status == JobStatus.SUCCEEDED:
            return f"continued with {MessageSource(self.message_source).label}'s message"
        return super().outcome
