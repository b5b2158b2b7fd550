from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from labelapp.errors import ApplicationError
from labelapp.models import (
    Campaign,
    Candidate,
    Export,
    GenerationJob,
    Generator,
    Item,
    ItemCandidate,
    Label,
    Lease,
    Prompt,
)
from labelapp.services.generation import generation_job_enqueue, generation_job_requeue


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "kind", "status", "labels_per_item", "manage_link"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "title"]

    @admin.display(description="Import, generate, build")
    def manage_link(self, campaign: Campaign) -> str:
        return format_html('<a href="{}">Manage</a>', reverse("manage", args=[campaign.name]))


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "__str__", "source"]
    list_filter = ["campaign"]
    search_fields = ["text", "source"]


@admin.register(Generator)
class GeneratorAdmin(admin.ModelAdmin):
    list_display = ["name", "backend", "model", "base_url", "prompt_format"]


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    actions = ["retry"]

    @admin.action(description="Retry the selected failed or stuck jobs (they resume where they stopped)")
    def retry(self, request: HttpRequest, jobs: QuerySet[GenerationJob]) -> None:
        for job in jobs:
            try:
                generation_job_enqueue(job=generation_job_requeue(job_id=job.pk))
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                self.message_user(request, f"Job {job.pk} queued again.", messages.SUCCESS)

    list_display = [
        "id",
        "campaign",
        "generator",
        "status",
        "prompts_done",
        "prompts_total",
        "tokens_generated",
        "created_at",
    ]
    list_filter = ["status", "campaign"]
    readonly_fields = [
        "prompts_done",
        "prompts_total",
        "tokens_generated",
        "started_at",
        "finished_at",
        "error",
    ]


@admin.register(Candidate)
class CandidateAdmin(admin.ModelAdmin):
    list_display = ["id", "prompt", "generator", "step", "finish_reason", "token_count", "logprob_mean"]
    list_filter = ["generator", "finish_reason"]
    list_select_related = ["prompt", "generator"]
    raw_id_fields = ["prompt", "job"]


class ItemCandidateInline(admin.TabularInline):
    model = ItemCandidate
    raw_id_fields = ["candidate"]
    extra = 0


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "kind", "prompt", "priority"]
    list_filter = ["campaign", "kind"]
    raw_id_fields = ["prompt"]
    inlines = [ItemCandidateInline]


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin):
    list_display = ["id", "item", "labeller", "created_at", "expires_at"]
    raw_id_fields = ["item"]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["id", "item", "labeller", "value", "seconds_spent", "created_at"]
    list_filter = ["item__campaign"]
    raw_id_fields = ["item"]


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "format", "rows", "path", "created_at"]
