from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from labelapp.models.jobs import Job, JobStatus


class GeneratorBackend(models.TextChoices):
    TRANSFORMERS = "transformers", "Local transformers (CPU or GPU)"
    TGI = "tgi", "Text Generation Inference server"
    OPENAI_CHAT = "openai-chat", "OpenAI-compatible /v1/chat/completions (vLLM, SGLang, llama.cpp)"
    OPENAI_COMPLETIONS = "openai-completions", "OpenAI-compatible /v1/completions"
    EXTERNAL = "external", "External: answers imported from a file (cannot generate)"


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
        max_length=500,
        help_text="Local folder, hub id in the offline cache, 'embedded' for SmolLM2-135M, or the served model name.",
    )
    gguf_file = models.CharField(max_length=200, blank=True)
    base_url = models.URLField(
        blank=True,
        help_text="Server URL for remote backends: http://gpu-1:8080 (TGI), http://gpu-1:8000/v1 (OpenAI).",
    )
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[
            RegexValidator(r"^[A-Z_][A-Z0-9_]*$", "An environment variable name, e.g. VLLM_API_KEY.")
        ],
        help_text="Name of the environment variable holding the server's API key; the key is never stored.",
    )
    prompt_format = models.CharField(max_length=16, choices=PromptFormat.choices, default=PromptFormat.CHAT)
    raw_template = models.TextField(default="Q: {prompt}\nA:", blank=True)
    default_params = models.JSONField(
        default=dict, blank=True, help_text="Sampling params used unless a job overrides them."
    )
    # 16 requests of n=4 samples keep 64 sequences in flight: a full llama.cpp server with --parallel up to 64,
    # and enough for vLLM, TGI and SGLang to batch a small model well; one lower than the server's slots
    # would leave them idle, one far higher only queues requests there (each against the request timeout).
    concurrency = models.PositiveSmallIntegerField(
        default=16,
        validators=[MinValueValidator(1)],
        help_text="Remote backends: requests sent at once (each asks for n samples). Match the server's "
        "batch: llama.cpp's --parallel divided by n, or more for vLLM, TGI and SGLang.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(backend__in=["transformers", "external"]) | ~models.Q(base_url=""),
                name="generator_remote_needs_base_url",
                violation_error_message="Remote backends need a base URL.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class GenerationStrategy(models.TextChoices):
    SAMPLE = "sample", "Sample n answers"
    SELF_CRITIQUE = "self-critique", "Answer, critique the answer, revise it"
    BEST_OF_N = "best-of-n", "Sample n answers, select the best"


class GenerationJob(Job):
    """Samples of a campaign's prompts from one generator with one set of params; progress counts prompts."""

    KIND = "generation"
    PROGRESS_UNIT = "prompts"

    campaign = models.ForeignKey(
        "labelapp.Campaign", on_delete=models.CASCADE, related_name="generation_jobs"
    )
    generator = models.ForeignKey(Generator, on_delete=models.PROTECT, related_name="jobs")
    prompt = models.ForeignKey(
        "labelapp.Prompt",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Only this prompt (a conversation's next turn); empty: the campaign's prompts.",
    )
    params = models.JSONField(help_text="Sampling params: temperature, top_p, max_new_tokens, seed, n, ...")
    strategy = models.CharField(
        max_length=16, choices=GenerationStrategy.choices, default=GenerationStrategy.SAMPLE
    )
    selection = models.CharField(
        max_length=600,
        blank=True,
        help_text="Best-of-N: how the best answer is selected, 'logprob', 'reward-model:PATH' or 'judge:GENERATOR'.",
    )
    tokens_generated = models.PositiveBigIntegerField(default=0)
    prompt_failures = models.JSONField(
        default=list,
        blank=True,
        help_text="Prompts the model server refused in the last run, [{prompt: id, message}]; a retry runs them.",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.generator}, {self.outcome})"

    @property
    def outcome(self) -> str:
        """The status in words: "completed with 2 failed prompts" for a job the server refused prompts of."""
        if self.status == JobStatus.PARTIAL:
            count = len(self.prompt_failures)
            return f"completed with {count} failed prompt{'s' if count != 1 else ''}"
        return super().outcome

    @property
    def tokens_per_second(self) -> float | None:
        if not self.started_at or not self.tokens_generated:
            return None
        end = self.finished_at or self.started_at
        seconds = (end - self.started_at).total_seconds()
        return self.tokens_generated / seconds if seconds > 0 else None


class CandidateStep(models.TextChoices):
    ANSWER = "answer", "Answer"
    CRITIQUE = "critique", "Critique of its parent answer"
    REVISION = "revision", "Revision following its parent critique"


class Candidate(models.Model):
    """One completion of one prompt by one generator, with what is needed to reproduce and weigh it."""

    prompt = models.ForeignKey("labelapp.Prompt", on_delete=models.CASCADE, related_name="candidates")
    generator = models.ForeignKey(Generator, on_delete=models.PROTECT, related_name="candidates")
    job = models.ForeignKey(
        GenerationJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="candidates"
    )
    step = models.CharField(max_length=16, choices=CandidateStep.choices, default=CandidateStep.ANSWER)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,  # deleted only with its prompt (its children go with it)
        related_name="children",
        help_text="The answer a critique is about, or the critique a revision follows.",
    )
    params_key = models.CharField(
        max_length=64, blank=True, help_text="Hash of the sampling params, seed included."
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
    metadata = models.JSONField(default=dict, blank=True, help_text="What an imported answer came with.")
    selection = models.JSONField(
        null=True,
        blank=True,
        help_text="Best-of-N samples: {method, n, score, selected}; the selected one also has every sample's "
        "score (by sample index) and why it was selected.",
    )
    content_key = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Imported answers: hash of the prompt, model, text and params; importing it again adds nothing.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A retried or re-run job never writes the same sample twice.
            models.UniqueConstraint(
                fields=["prompt", "generator", "params_key", "step", "sample_index"],
                condition=~models.Q(params_key=""),
                name="candidate_unique_sample",
            ),
            models.UniqueConstraint(
                fields=["prompt", "content_key"],
                condition=~models.Q(content_key=""),
                name="candidate_unique_content",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.step} {self.pk} of prompt {self.prompt_id}"
