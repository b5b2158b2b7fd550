from django.db import models

from labelapp.models.jobs import Job


class CandidateEmbedding(models.Model):
    """A candidate's sentence embedding, computed once and read by the diversity report.

    Embedding takes about 0.1 s a text on a CPU, too slow for a page to do per request, and a candidate's
    text does not change, so each is embedded once (`report --kind diversity`, or a worker) and kept here.
    `text_sha256` is the hash of the text that was embedded: a row whose hash no longer matches the
    candidate's text (edited in the admin) is stale, ignored and recomputed.
    """

    candidate = models.ForeignKey("labelapp.Candidate", on_delete=models.CASCADE, related_name="embeddings")
    model = models.CharField(max_length=100, help_text="The embedding model, e.g. all-MiniLM-L6-v2.")
    text_sha256 = models.CharField(max_length=64)
    vector = models.BinaryField(help_text="float32 values, little-endian.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["candidate", "model"], name="candidateembedding_unique_model")
        ]

    def __str__(self) -> str:
        return f"{self.model} embedding of candidate {self.candidate_id}"


class EmbeddingJob(Job):
    """Embedding the candidates of a campaign's set-wise items that have no current embedding; progress
    counts candidates embedded, `already` those whose stored embedding was current when it started."""

    KIND = "embeddings"
    PROGRESS_UNIT = "candidates"

    campaign = models.ForeignKey("labelapp.Campaign", on_delete=models.CASCADE, related_name="embedding_jobs")
    model = models.CharField(max_length=100, help_text="The embedding model, e.g. all-MiniLM-L6-v2.")
    already = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"embedding job {self.pk} ({self.model} on {self.campaign_id}, {self.outcome})"
