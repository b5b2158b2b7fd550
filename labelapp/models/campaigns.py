from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models


class CampaignKind(models.TextChoices):
    PAIRWISE = "pairwise", "Pairwise comparison"
    CORRECTNESS = "correctness", "Correctness"
    COHERENCE = "coherence", "Coherence"
    SETWISE = "setwise", "Set-wise diversity"
    SET_VS_SET = "set-vs-set", "Set vs set"
    RANKING = "ranking", "N-way ranking"


class CampaignSelection(models.TextChoices):
    UNIFORM = "uniform", "Uniform"
    ACTIVE = "active", "Active (pairs that teach the generator ranking most)"


class CampaignStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    DONE = "done", "Done"


class Campaign(models.Model):
    name = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9_-]*$", "Use lowercase letters, digits, '-' and '_'.")],
        help_text="Short name used in URLs and on the command line, e.g. 'demo'.",
    )
    title = models.CharField(max_length=200, blank=True)
    instructions = models.TextField(blank=True, help_text="Markdown shown to labellers.")
    kind = models.CharField(max_length=32, choices=CampaignKind.choices, default=CampaignKind.PAIRWISE)
    labels_per_item = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1)],
        help_text="The most labels an item gets; with min_labels, items stop earlier when their labels agree.",
    )
    min_labels = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Adaptive overlap: labels every item gets before it may stop (empty: every item gets "
        "labels_per_item). See the README's 'Adaptive overlap'.",
    )
    agreement_to_stop = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Adaptive overlap: an item stops once this share of its labels agrees with the majority.",
    )
    judge_prelabel = models.BooleanField(
        default=False,
        help_text="Items an AI judge has a verdict on first ask for one human label; more when the "
        "humans disagree with the judge.",
    )
    lease_seconds = models.PositiveIntegerField(default=600, validators=[MinValueValidator(30)])
    priority = models.SmallIntegerField(
        default=0, help_text="Higher first, when a labeller has several campaigns."
    )
    required_skills = models.JSONField(
        default=list, blank=True, help_text='Skills a labeller needs, e.g. ["expert:math", "lang:fr"].'
    )
    gold_rate = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of served items that are gold (known answer), e.g. 0.1.",
    )
    min_gold_accuracy = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Labellers below this gold accuracy stop receiving items (judged after min_gold_labels).",
    )
    min_gold_labels = models.PositiveSmallIntegerField(default=5)
    criteria = models.JSONField(
        default=list,
        blank=True,
        help_text='Pairwise: criteria judged one by one beside the overall choice, e.g. ["helpfulness", "honesty"].',
    )
    show_reference_answer = models.BooleanField(
        default=False, help_text="Correctness: show labellers the prompt's reference answer."
    )
    error_categories = models.JSONField(
        default=list,
        blank=True,
        help_text="Correctness: error categories labellers may pick; empty for the defaults.",
    )
    continue_turns = models.PositiveSmallIntegerField(
        default=0,
        help_text="Pairwise: once an item's labels are in, continue the conversation from the preferred reply "
        "for up to this many more turns (0: off). See the README's 'Continuing conversations'.",
    )
    user_simulator = models.ForeignKey(
        "labelapp.Generator",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Continuations: writes the user's next message where no labeller did; "
        "without one such a conversation stops there.",
    )
    selection = models.CharField(
        max_length=16,
        choices=CampaignSelection.choices,
        default=CampaignSelection.UNIFORM,
        help_text="Pairwise: 'active' serves first the generator pairs whose next vote shrinks the ranking's "
        "uncertainty most; 'uniform' serves every item alike. See the README's queue section.",
    )
    # Active selection: how often the queue samples each generator pair (Item.pair_key), refreshed off the
    # request path by services.selection; empty until the first refresh (the queue is uniform till then).
    pair_weights = models.JSONField(default=dict, blank=True, editable=False)
    pair_weights_at = models.DateTimeField(null=True, blank=True, editable=False)
    review_below = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Adjudication: an item whose labels are all in and agree less than this (the kind's agreement, "
        "0 to 1) goes to the review queue of labellers with the 'reviewer' skill; empty: no review.",
    )
    status = models.CharField(max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(labels_per_item__gte=1), name="campaign_k_min_1"),
            models.CheckConstraint(
                condition=models.Q(min_labels__isnull=True)
                | models.Q(min_labels__gte=1, min_labels__lte=models.F("labels_per_item")),
                name="campaign_min_labels_within_k",
                violation_error_message="Field 'min_labels' must be from 1 to labels_per_item (the most labels "
                "an item gets).",
            ),
            models.CheckConstraint(
                condition=models.Q(continue_turns=0) | models.Q(kind=CampaignKind.PAIRWISE),
                name="campaign_continues_only_pairwise",
                violation_error_message="Only a pairwise campaign can continue conversations.",
            ),
            models.CheckConstraint(
                condition=models.Q(selection=CampaignSelection.UNIFORM)
                | models.Q(kind=CampaignKind.PAIRWISE),
                name="campaign_active_selection_only_pairwise",
                violation_error_message="Only a pairwise campaign can use active selection.",
            ),
        ]

    def __str__(self) -> str:
        return self.name
