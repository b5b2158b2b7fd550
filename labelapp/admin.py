from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin, messages
from django.db import models, transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from labelapp.errors import ApplicationError
from labelapp.models import (
    AuditEntry,
    Campaign,
    CampaignStatus,
    Candidate,
    Continuation,
    EmbeddingJob,
    Export,
    GenerationJob,
    Generator,
    Item,
    ItemCandidate,
    Job,
    JudgeJob,
    JudgeLabel,
    Label,
    LabellerProfile,
    Lease,
    Prompt,
    Skip,
    SourceLabel,
)
from labelapp.services.audit import audit_record, row_snapshot
from labelapp.services.campaigns import OVERLAP_FIELDS, campaigns_set_status
from labelapp.services.gold import items_mark_gold, items_unmark_gold
from labelapp.services.items import items_priority_shift
from labelapp.services.jobs import job_enqueue, job_requeue
from labelapp.services.labellers import labeller_suspend, labeller_unsuspend
from labelapp.services.leases import leases_release
from labelapp.services.overlap import items_unlabelled_restart

AdminAction = Callable[[admin.ModelAdmin, HttpRequest, QuerySet], Any]


class AuditedAdmin(admin.ModelAdmin):
    """Every write made through this admin is in the audit log: adds, changes (values before and after),
    deletes (the rows as they were) and actions (on which rows), each in the transaction of the write."""

    def _audit(self, request: HttpRequest, verb: str, ids: list[Any], detail: dict[str, Any]) -> None:
        model_name = self.model._meta.model_name
        audit_record(
            actor=request.user if request.user.is_authenticated else None,
            action=f"{model_name}.{verb}",
            target_type=model_name,
            target_ids=ids,
            detail=detail,
        )

    def save_model(self, request: HttpRequest, obj: models.Model, form: ModelForm, change: bool) -> None:
        before = self.model.objects.filter(pk=obj.pk).first() if change else None
        super().save_model(request, obj, form, change)
        if before is None:
            self._audit(request, "add", [obj.pk], {"after": row_snapshot(obj)})
            return
        fields = form.changed_data
        detail = {"before": row_snapshot(before, fields), "after": row_snapshot(obj, fields)}
        self._audit(request, "change", [obj.pk], detail)

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        pk, snapshot = obj.pk, row_snapshot(obj)
        super().delete_model(request, obj)
        self._audit(request, "delete", [pk], {"rows": [snapshot]})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        rows = list(queryset)
        snapshots = [row_snapshot(row) for row in rows]
        super().delete_queryset(request, queryset)
        self._audit(request, "delete", [row.pk for row in rows], {"rows": snapshots})

    def get_actions(self, request: HttpRequest) -> dict[str, tuple[AdminAction, str, str] | None]:
        # delete_selected goes through delete_queryset, which records the rows themselves.
        actions: dict[str, tuple[AdminAction, str, str] | None] = {}
        for name, action in super().get_actions(request).items():
            if action is not None:
                func, _, description = action
                actions[name] = (
                    func if name == "delete_selected" else self._audited(func, name),
                    name,
                    description,
                )
        return actions

    def _audited(self, action: AdminAction, name: str) -> AdminAction:
        @wraps(action)
        def run(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> Any:
            with transaction.atomic():
                ids = list(queryset.values_list("pk", flat=True))
                result = action(modeladmin, request, queryset)
                self._audit(request, name, ids, {})
            return result

        return run


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: entries are written by services, and nobody edits or deletes them from here."""

    list_display = ["created_at", "actor_name", "action", "target_type", "target_ids"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_name", "action"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(AuditedAdmin):
    list_display = ["name", "title", "kind", "status", "priority", "labels_per_item", "manage_link"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "title"]
    actions = ["pause", "resume", "release_leases"]

    @admin.action(description="Pause: hand out no more items")
    def pause(self, request: HttpRequest, campaigns: QuerySet[Campaign]) -> None:
        changed = campaigns_set_status(campaigns=campaigns, status=CampaignStatus.PAUSED)
        self.message_user(request, f"Paused {changed} campaign(s).", messages.SUCCESS)

    @admin.action(description="Resume: hand out items again")
    def resume(self, request: HttpRequest, campaigns: QuerySet[Campaign]) -> None:
        changed = campaigns_set_status(campaigns=campaigns, status=CampaignStatus.ACTIVE)
        self.message_user(request, f"Resumed {changed} campaign(s).", messages.SUCCESS)

    @admin.action(description="Release every lease (items go back to the pool)")
    def release_leases(self, request: HttpRequest, campaigns: QuerySet[Campaign]) -> None:
        released = leases_release(items=Item.objects.filter(campaign__in=campaigns))
        self.message_user(request, f"Released {released} lease(s).", messages.SUCCESS)

    def save_model(self, request: HttpRequest, obj: models.Model, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and isinstance(obj, Campaign) and set(form.changed_data) & OVERLAP_FIELDS:
            items_unlabelled_restart(campaign=obj)

    @admin.display(description="Import, generate, build")
    def manage_link(self, campaign: Campaign) -> str:
        return format_html('<a href="{}">Manage</a>', reverse("manage", args=[campaign.name]))


@admin.register(Prompt)
class PromptAdmin(AuditedAdmin):
    list_display = ["id", "campaign", "__str__", "turn", "source"]
    list_filter = ["campaign"]
    search_fields = ["text", "source"]


@admin.register(Generator)
class GeneratorAdmin(AuditedAdmin):
    list_display = ["name", "backend", "model", "base_url", "prompt_format", "concurrency"]


class JobAdmin(AuditedAdmin):
    """A kind of background job: its progress, and a retry for the failed or partly completed ones."""

    actions = ["retry"]
    list_filter = ["status", "campaign"]
    job_fields = [
        "status",
        "progress_done",
        "progress_total",
        "error",
        "created_at",
        "started_at",
        "finished_at",
    ]

    @admin.action(
        description="Retry the selected failed or partly completed jobs (they do only what is left)"
    )
    def retry(self, request: HttpRequest, jobs: QuerySet[Job]) -> None:
        for job in jobs:
            try:
                job_enqueue(job=job_requeue(model=type(job), job_id=job.pk))
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                self.message_user(request, f"{job.display_name} queued again.", messages.SUCCESS)


@admin.register(GenerationJob)
class GenerationJobAdmin(JobAdmin):
    list_display = [
        "id",
        "campaign",
        "generator",
        "status",
        "progress_done",
        "progress_total",
        "tokens_generated",
        "created_at",
    ]
    readonly_fields = [*JobAdmin.job_fields, "tokens_generated", "prompt_failures"]


@admin.register(JudgeJob)
class JudgeJobAdmin(JobAdmin):
    list_display = ["id", "campaign", "generator", "status", "progress_done", "progress_total", "created_at"]
    readonly_fields = [*JobAdmin.job_fields, "parse_errors", "items_remaining"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # started by judge_items (or a worker, with --enqueue)


@admin.register(EmbeddingJob)
class EmbeddingJobAdmin(JobAdmin):
    list_display = ["id", "campaign", "model", "status", "progress_done", "progress_total", "created_at"]
    readonly_fields = [*JobAdmin.job_fields, "model", "already"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # started from the diversity report page or by `report --kind diversity`


@admin.register(Continuation)
class ContinuationAdmin(JobAdmin):
    list_display = ["id", "campaign", "item", "status", "stopped", "message_source", "created_at"]
    readonly_fields = [*JobAdmin.job_fields, "item", "stopped", "message_source", "message_label"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Recorded by the label that completes an item of a campaign that continues conversations.
        return False


@admin.register(Candidate)
class CandidateAdmin(AuditedAdmin):
    list_display = ["id", "prompt", "generator", "step", "finish_reason", "token_count", "logprob_mean"]
    list_filter = ["generator", "finish_reason"]
    list_select_related = ["prompt", "generator"]
    raw_id_fields = ["prompt", "job"]


class ItemCandidateInline(admin.TabularInline):
    model = ItemCandidate
    raw_id_fields = ["candidate"]
    extra = 0


@admin.register(Item)
class ItemAdmin(AuditedAdmin):
    list_display = ["id", "campaign", "kind", "prompt", "priority", "is_gold"]
    list_filter = ["campaign", "kind", "is_gold"]
    raw_id_fields = ["prompt"]
    inlines = [ItemCandidateInline]
    actions = ["raise_priority", "lower_priority", "requeue", "mark_gold", "unmark_gold"]

    @admin.action(description="Raise priority by 1 (served sooner)")
    def raise_priority(self, request: HttpRequest, items: QuerySet[Item]) -> None:
        self.message_user(
            request, f"Raised {items_priority_shift(items=items, by=1)} item(s).", messages.SUCCESS
        )

    @admin.action(description="Lower priority by 1")
    def lower_priority(self, request: HttpRequest, items: QuerySet[Item]) -> None:
        self.message_user(
            request, f"Lowered {items_priority_shift(items=items, by=-1)} item(s).", messages.SUCCESS
        )

    @admin.action(description="Requeue: release their leases")
    def requeue(self, request: HttpRequest, items: QuerySet[Item]) -> None:
        self.message_user(request, f"Released {leases_release(items=items)} lease(s).", messages.SUCCESS)

    @admin.action(description="Mark gold, with the current majority label as the known answer")
    def mark_gold(self, request: HttpRequest, items: QuerySet[Item]) -> None:
        marked, unclear = items_mark_gold(items=items)
        self.message_user(request, f"Marked {marked} item(s) gold.", messages.SUCCESS)
        if unclear:
            ids = ", ".join(map(str, unclear))
            self.message_user(
                request,
                f"Items {ids} have no clear majority label: set gold_value by hand.",
                messages.WARNING,
            )

    @admin.action(description="Unmark gold")
    def unmark_gold(self, request: HttpRequest, items: QuerySet[Item]) -> None:
        self.message_user(request, f"Unmarked {items_unmark_gold(items=items)} item(s).", messages.SUCCESS)


@admin.register(LabellerProfile)
class LabellerProfileAdmin(AuditedAdmin):
    list_display = ["user", "skills", "suspended", "suspended_reason"]
    list_filter = ["suspended"]
    search_fields = ["user__username"]
    actions = ["suspend", "unsuspend", "release_leases"]

    @admin.action(description="Suspend: no more items, leases released")
    def suspend(self, request: HttpRequest, profiles: QuerySet[LabellerProfile]) -> None:
        for profile in profiles.select_related("user"):
            labeller_suspend(user=profile.user, reason=f"suspended by {request.user.get_username()}")
        self.message_user(request, f"Suspended {profiles.count()} labeller(s).", messages.SUCCESS)

    @admin.action(description="Unsuspend")
    def unsuspend(self, request: HttpRequest, profiles: QuerySet[LabellerProfile]) -> None:
        for profile in profiles.select_related("user"):
            labeller_unsuspend(user=profile.user)
        self.message_user(request, f"Unsuspended {profiles.count()} labeller(s).", messages.SUCCESS)

    @admin.action(description="Release their leases")
    def release_leases(self, request: HttpRequest, profiles: QuerySet[LabellerProfile]) -> None:
        released = sum(leases_release(labeller=profile.user) for profile in profiles.select_related("user"))
        self.message_user(request, f"Released {released} lease(s).", messages.SUCCESS)


@admin.register(Skip)
class SkipAdmin(AuditedAdmin):
    list_display = ["id", "item", "labeller", "reason", "created_at"]
    list_filter = ["item__campaign"]
    raw_id_fields = ["item"]


@admin.register(Lease)
class LeaseAdmin(AuditedAdmin):
    list_display = ["id", "item", "labeller", "created_at", "expires_at"]
    raw_id_fields = ["item"]


@admin.register(Label)
class LabelAdmin(AuditedAdmin):
    list_display = ["id", "item", "labeller", "value", "seconds_spent", "gold_correct", "created_at"]
    list_filter = ["item__campaign"]
    raw_id_fields = ["item"]
    readonly_fields = ["shown_order"]  # what the labeller was shown: a record, kept when the value is edited


@admin.register(JudgeLabel)
class JudgeLabelAdmin(AuditedAdmin):
    """AI judge verdicts, kept apart from human labels; written only by judge_items."""

    list_display = [
        "id",
        "item",
        "generator",
        "order_reversed",
        "value",
        "confidence",
        "parse_error",
        "created_at",
    ]
    list_filter = ["item__campaign", "generator", "order_reversed"]
    raw_id_fields = ["item"]
    readonly_fields = [
        "item",
        "generator",
        "order_reversed",
        "value",
        "confidence",
        "raw_output",
        "parse_error",
        "rendered_prompt",
        "params",
    ]


@admin.register(SourceLabel)
class SourceLabelAdmin(AuditedAdmin):
    """Imported datasets' own verdicts, kept apart from human labels; written only by imports."""

    list_display = ["id", "item", "source", "format", "value", "origin", "created_at"]
    list_filter = ["item__campaign", "source"]
    raw_id_fields = ["item"]
    readonly_fields = ["item", "source", "format", "value", "raw", "origin"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # source labels come with an import (import_dataset, the manage page, the API)


@admin.register(Export)
class ExportAdmin(JobAdmin):
    list_display = ["id", "campaign", "format", "output", "status", "rows", "download_link", "created_at"]
    list_filter = ["status", "format", "campaign"]
    readonly_fields = [f.name for f in Export._meta.fields]

    @admin.display(description="Download")
    def download_link(self, export: Export) -> str:
        if export.status != "succeeded" or not export.download_path:
            return export.path if export.status == "succeeded" else ""
        return format_html('<a href="{}">download</a>', reverse("api-export-download", args=[export.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # exports are started from the campaign's manage page, the API or export_dataset
