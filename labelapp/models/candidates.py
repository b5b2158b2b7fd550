from django.db import models


class GeneratorBackend(models.TextChoices):
    TRANSFORMERS = "transformers", "Local transformers (CPU or GPU)"


class PromptFormat(models.TextChoices):
    CHAT = "chat", "Chat template"
    RAW = "raw", "Raw template (base models)"


class Generator(models.Model):
    """A model plus the way prompts are put to it; candidates remember which generator wrote them."""

    name = models.CharField(max_length=100, unique=True)
    backend = models.CharField(
        max_length=32, choices=GeneratorBackend.choices, default=GeneratorBackend.TRANSFORMERS
    )
    model = models.CharField(
        max_length=500, help_text="Local folder, hub id in the offline cache, or 'embedded' for SmolLM2-135M."
    )
    gguf_file = models.CharField(max_length=200, blank=True)
    prompt_format = models.CharField(max_length=16, choices=PromptFormat.choices, default=PromptFormat.CHAT)
    raw_template = models.TextField(default="Q: {prompt}\nA:", blank=True)
    default_params = models.JSONField(
        default=dict, blank=True, help_text="Sampling params used unless a job overrides them."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GenerationJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class GenerationJob(models.Model):
    campaign = models.ForeignKey(
        "labelapp.Campaign", on_delete=models.CASCADE, related_name="generation_jobs"
    )
    generator = models.ForeignKey(Generator, on_delete=models.PROTECT, related_name="jobs")
    params = models.JSONField(help_text="Sampling params: temperature, top_p, max_new_tokens, seed, n, ...")
    status = models.CharField(
        max_length=16, choices=GenerationJobStatus.choices, default=GenerationJobStatus.QUEUED
    )
    prompts_total = models.PositiveIntegerField(default=0)
    prompts_done = models.PositiveIntegerField(default=0)
    tokens_generated = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.generator}, {self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {GenerationJobStatus.SUCCEEDED, GenerationJobStatus.FAILED}

    @property
    def tokens_per_second(self) -> float | None:
        if not self.started_at or not self.tokens_generated:
            return None
        end = self.finished_at or self.started_at
        seconds = (end - self.started_at).total_seconds()
        return self.tokens_generated / seconds if seconds > 0 else None


class Candidate(models.Model):
    """One completion of one prompt by one generator, with what is needed to reproduce and weigh it."""

    prompt = models.ForeignKey("labelapp.Prompt", on_delete=models.CASCADE, related_name="candidates")
    generator = models.ForeignKey(Generator, on_delete=models.PROTECT, related_name="candidates")
    job = models.ForeignKey(
        GenerationJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="candidates"
    )
    sample_index = models.PositiveSmallIntegerField(default=0)
    text = models.TextField()
    rendered_prompt = models.TextField(blank=True)
    params = models.JSONField(default=dict)
    seed = models.BigIntegerField(null=True, blank=True)
    finish_reason = models.CharField(max_length=16, blank=True)
    token_count = models.PositiveIntegerField(default=0)
    logprob_sum = models.FloatField(null=True, blank=True)
    logprob_mean = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A retried job must not write a prompt's sample twice.
            models.UniqueConstraint(
                fields=["job", "prompt", "sample_index"], name="candidate_unique_job_prompt_sample"
            )
        ]

    def __str__(self) -> str:
        return f"candidate {self.pk} of prompt {self.prompt_id}"
