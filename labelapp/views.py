"""htmx pages, as thin as the APIs: read with selectors, write with services, render one template."""

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from labelapp.errors import ApplicationError, NotFoundError, RefusedError
from labelapp.exporters import FORMATS, options_for
from labelapp.exporters.options import CAMPAIGN_KIND, GENERATOR_CHOICE, NAMES, OPTIONS, SWITCH, Option
from labelapp.importers import FORMATS as IMPORT_FORMATS
from labelapp.importers import candidates
from labelapp.importers.records import record_file_upload
from labelapp.kinds import kind_get, reference_answer_shown
from labelapp.kinds.base import BuildOptions
from labelapp.kinds.pairwise import Pairing
from labelapp.models import Campaign, Candidate, ExportOutput, GenerationStrategy, Generator, Item
from labelapp.reports.charts import hour_chart, progress_segments
from labelapp.selectors.campaigns import (
    campaign_get,
    campaign_get_for_user,
    campaign_progress,
    campaigns_for_user,
    labeller_progress,
    user_is_labeller,
)
from labelapp.selectors.dashboard import PAIR_MIN_SHARED_ITEMS, campaign_dashboard
from labelapp.selectors.items import item_candidates_shown
from labelapp.selectors.jobs import job_get, jobs_for_campaign
from labelapp.selectors.labellers import labeller_standing_remember
from labelapp.selectors.reviews import review_labels, user_is_reviewer
from labelapp.services import labels
from labelapp.services.exports import export_job_create
from labelapp.services.generation import generation_jobs_create, sampling_params_sweep
from labelapp.services.gold import gold_import
from labelapp.services.imports import dataset_file_import, dataset_upload_size_check
from labelapp.services.items import items_build
from labelapp.services.jobs import job_enqueue, job_retry
from labelapp.services.leases import item_skip, lease_next, lease_renew
from labelapp.services.reviews import item_adjudicate, review_next
from labelapp.templatetags.markdown_text import markdown_html

View = Callable[..., HttpResponse]


class SignedInRequest(HttpRequest):
    """A request as every view here gets it: signed in (LoginRequiredMiddleware), with django-htmx's `htmx`."""

    user: User
    htmx: HtmxDetails


def labeller_required(view: View) -> View:
    @wraps(view)
    def checked(request: SignedInRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The standing read here serves the rest of the request (campaign routing, lease refusals).
        if not (request.user.is_staff or labeller_standing_remember(user=request.user).in_group):
            raise PermissionDenied("Only labellers can label.")
        return view(request, *args, **kwargs)

    return checked


def reviewer_required(view: View) -> View:
    @wraps(view)
    def checked(request: SignedInRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_is_reviewer(request.user):
            raise PermissionDenied("Only labellers with the reviewer skill can review.")
        return view(request, *args, **kwargs)

    return checked


def staff_required(view: View) -> View:
    @wraps(view)
    def checked(request: SignedInRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("Only staff can manage campaigns.")
        return view(request, *args, **kwargs)

    return checked


def instructions_html(campaign: Campaign) -> str:
    """Campaign instructions are Markdown written by staff; still sanitised, so they cannot run script."""
    return markdown_html(campaign.instructions, allow_html=True)


@require_GET
def home(request: SignedInRequest) -> HttpResponse:
    campaigns = campaigns_for_user(user=request.user)
    context = {
        "campaigns": campaigns,
        "is_labeller": user_is_labeller(request.user),
        "is_reviewer": user_is_reviewer(request.user),
    }
    return render(request, "labelapp/home.html", context)


def _item_context(
    request: SignedInRequest, campaign: Campaign, item: Item | None, error: str = ""
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "campaign": campaign,
        "item": item,
        "error": error,
        "progress": labeller_progress(campaign=campaign, user=request.user),
    }
    if item is not None:
        task_kind = kind_get(item.kind)
        context |= {
            "kind_template": task_kind.TEMPLATE,
            "shown": item_candidates_shown(item=item, labeller=request.user),
            "idempotency_key": uuid.uuid4().hex,
            "heartbeat_seconds": max(10, min(60, campaign.lease_seconds // 3)),
            "show_reference": reference_answer_shown(campaign=campaign),
        }
    return context


def _render_item(request: SignedInRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    template = "labelapp/label.html#item" if request.htmx else "labelapp/label.html"
    if not request.htmx:
        context["instructions_html"] = instructions_html(context["campaign"])
    return render(request, template, context, status=status)


def _render_next(
    request: SignedInRequest, campaign: Campaign, error: str = "", status: int = 200
) -> HttpResponse:
    """The labeller's next item (or why there is none), after an error message if there was one."""
    try:
        item = lease_next(labeller=request.user, campaign=campaign)
    except RefusedError as exc:
        return _render_item(request, _item_context(request, campaign, None, error=exc.message), status=403)
    return _render_item(request, _item_context(request, campaign, item, error=error), status=status)


def _render_after_write(
    request: SignedInRequest, campaign: Campaign, write: Callable[[], labels.LabelOutcome | None]
) -> HttpResponse:
    """Run a labeller's write on an item, then answer with their next item (htmx) or the page again.

    The next item is the one the write leased (label_submit), else leased now. An item not (or no longer)
    leased to the labeller is a 404 page; other errors show inline, above the next item.
    """
    try:
        outcome = write()
    except NotFoundError:
        raise
    except ApplicationError as exc:
        return _render_next(request, campaign, error=exc.message, status=exc.status_code)
    if not request.htmx:
        return redirect("label", campaign=campaign.name)
    if outcome is None:
        return _render_next(request, campaign)
    if outcome.refusal is not None:
        context = _item_context(request, campaign, None, error=outcome.refusal.message)
        return _render_item(request, context, status=outcome.refusal.status_code)
    return _render_item(request, _item_context(request, campaign, outcome.next_item))


@require_GET
@labeller_required
def label_page(request: SignedInRequest, campaign: str) -> HttpResponse:
    return _render_next(request, campaign_get_for_user(user=request.user, name=campaign))


@require_POST
@labeller_required
def label_submit(request: SignedInRequest, campaign: str, item_id: int) -> HttpResponse:
    """Store the label and, for htmx, lease the next item in the same transaction (a plain form post is
    redirected to the page, which leases it)."""
    found = campaign_get_for_user(user=request.user, name=campaign)  # its kind reads the form
    return _render_after_write(
        request,
        found,
        lambda: labels.label_submit(
            labeller=request.user,
            campaign=found.name,
            item_id=item_id,
            value=kind_get(found.kind).value_from_form(request.POST),
            idempotency_key=request.POST.get("idempotency_key", ""),
            lease_next=bool(request.htmx),
        ),
    )


@require_POST
@labeller_required
def label_skip(request: SignedInRequest, campaign: str, item_id: int) -> HttpResponse:
    found = campaign_get_for_user(user=request.user, name=campaign)

    def skip() -> None:
        item_skip(
            labeller=request.user, campaign=found.name, item_id=item_id, reason=request.POST.get("reason", "")
        )

    return _render_after_write(request, found, skip)


@require_POST
@labeller_required
def label_heartbeat(request: SignedInRequest, campaign: str, item_id: int) -> HttpResponse:
    """The open page keeps its lease alive; 404 once the item is no longer leased to this labeller."""
    try:
        lease_renew(labeller=request.user, campaign=campaign, item_id=item_id)
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=exc.status_code)
    return HttpResponse(status=204)


def _render_review(
    request: SignedInRequest, campaign: Campaign, error: str = "", status: int = 200
) -> HttpResponse:
    """The reviewer's next item to adjudicate (their reservation, else the oldest free one), or none."""
    review = review_next(reviewer=request.user, campaign=campaign)
    context: dict[str, Any] = {"campaign": campaign, "review": review, "error": error}
    if review is not None:
        item = review.item
        task_kind = kind_get(item.kind)
        context |= {
            "item": item,
            "kind_template": task_kind.TEMPLATE,
            "shown": item_candidates_shown(item=item, labeller=request.user),
            "labels": review_labels(item=item, reviewer=request.user),
            "show_reference": reference_answer_shown(campaign=campaign),
        }
    template = "labelapp/review.html#item" if request.htmx else "labelapp/review.html"
    if not request.htmx:
        context["instructions_html"] = instructions_html(campaign)
    return render(request, template, context, status=status)


@require_GET
@reviewer_required
def review_page(request: SignedInRequest, campaign: str) -> HttpResponse:
    return _render_review(request, campaign_get_for_user(user=request.user, name=campaign))


@require_POST
@reviewer_required
def review_submit(request: SignedInRequest, campaign: str, item_id: int) -> HttpResponse:
    """Store the reviewer's final label, then show their next item (htmx) or redirect to the page. An item
    not reserved to them is a 404; a value refused shows inline, above the item again."""
    found = campaign_get_for_user(user=request.user, name=campaign)
    try:
        item_adjudicate(
            reviewer=request.user,
            campaign=found,
            item_id=item_id,
            value=kind_get(found.kind).value_from_form(request.POST),
            rationale=request.POST.get("review_rationale", ""),
        )
    except NotFoundError:
        raise
    except ApplicationError as exc:
        return _render_review(request, found, error=exc.message, status=exc.status_code)
    if not request.htmx:
        return redirect("review", campaign=found.name)
    return _render_review(request, found)


def _manage_context(campaign: Campaign, request: SignedInRequest) -> dict[str, Any]:
    jobs = jobs_for_campaign(campaign=campaign)
    return {
        "campaign": campaign,
        "progress": campaign_progress(campaign=campaign, user=request.user),
        "jobs": jobs,
        "jobs_running": not all(job.is_finished for job in jobs),
        "export_formats": FORMATS.values(),
        "import_formats": IMPORT_FORMATS.values(),
        "import_max_megabytes": round(settings.LABELAPP_IMPORT_UPLOAD_MAX_BYTES / 1e6),
        "export_options": options_for(campaign.kind),
        "export_outputs": ExportOutput.choices,
        "generators": Generator.objects.all(),
        "strategies": GenerationStrategy.choices,
        "pairings": [p.value for p in Pairing],
        "prompt_count": campaign.prompts.count(),
        "candidate_count": Candidate.objects.filter(prompt__campaign=campaign).count(),
        "item_count": campaign.items.count(),
        "gold_count": campaign.items.filter(is_gold=True).count(),
        "candidate_counts": kind_get(campaign.kind).CANDIDATE_COUNTS,
        "source_campaigns": Campaign.objects.exclude(pk=campaign.pk)
        .order_by("name")
        .values_list("name", flat=True),
        "judged_campaigns": Campaign.objects.filter(prompts__items__campaign=campaign)
        .exclude(pk=campaign.pk)
        .distinct()
        .values_list("name", flat=True),
    }


@require_GET
@staff_required
def manage_page(request: SignedInRequest, campaign: str) -> HttpResponse:
    found = campaign_get(name=campaign)
    template = "labelapp/manage.html#jobs" if request.htmx else "labelapp/manage.html"
    return render(request, template, _manage_context(found, request))


def _manage_action(
    request: SignedInRequest, campaign: str, action: Callable[[Campaign], str]
) -> HttpResponse:
    found = campaign_get(name=campaign)
    try:
        messages.success(request, action(found))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("manage", campaign=found.name)


@require_POST
@staff_required
def manage_import(request: SignedInRequest, campaign: str) -> HttpResponse:
    def run(found: Campaign) -> str:
        dataset_upload_size_check(campaign=found, content_length=request.META.get("CONTENT_LENGTH"))
        upload, name = _uploaded_file(request, "Choose a file to import.")
        imported = dataset_file_import(
            campaign=found,
            format=request.POST.get("format") or candidates.NAME,
            file=record_file_upload(name=name, file=upload, size=upload.size),
            source=request.POST.get("source", "").strip() or None,
        )
        return f"Imported {imported.summary()}"

    return _manage_action(request, campaign, run)


def _uploaded_file(request: SignedInRequest, missing: str) -> tuple[UploadedFile, str]:
    """The form's file and its name; `missing` is the message when none was chosen."""
    upload = request.FILES.get("file")
    if upload is None:
        raise ApplicationError(missing, {"field": "file"})
    return upload, upload.name or "the uploaded file"


def _optional_number(request: SignedInRequest, name: str, cast: type) -> Any:
    raw = request.POST.get(name, "").strip()
    if not raw:
        return None
    try:
        return cast(raw)
    except ValueError:
        raise ApplicationError(f"Field '{name}' must be a number, not '{raw}'.", {"field": name}) from None


def _temperatures(request: SignedInRequest) -> list[float]:
    raw = request.POST.get("temperature", "").replace(",", " ").split()
    try:
        return [float(value) for value in raw]
    except ValueError:
        raise ApplicationError(
            f"Field 'temperature' must be numbers separated by commas, not '{request.POST['temperature']}'.",
            {"field": "temperature"},
        ) from None


@require_POST
@staff_required
def manage_import_gold(request: SignedInRequest, campaign: str) -> HttpResponse:
    def run(found: Campaign) -> str:
        upload, name = _uploaded_file(request, "Choose a .jsonl file of gold answers.")
        count = gold_import(campaign=found, file_name=name, content=upload.read())
        return f"Marked {count} items gold from {name}."

    return _manage_action(request, campaign, run)


@require_POST
@staff_required
def manage_generate(request: SignedInRequest, campaign: str) -> HttpResponse:
    def run(found: Campaign) -> str:
        generator = Generator.objects.filter(pk=_optional_number(request, "generator", int)).first()
        if generator is None:
            raise ApplicationError("Choose a generator.", {"field": "generator"})
        overrides = {
            "n": _optional_number(request, "n", int),
            "top_p": _optional_number(request, "top_p", float),
            "max_new_tokens": _optional_number(request, "max_new_tokens", int),
            "seed": _optional_number(request, "seed", int),
        }
        params_list = sampling_params_sweep(
            generator=generator, overrides=overrides, temperatures=_temperatures(request)
        )
        jobs = generation_jobs_create(
            campaign=found,
            generator=generator,
            params_list=params_list,
            strategy=request.POST.get("strategy") or GenerationStrategy.SAMPLE,
            selection=request.POST.get("select", "").strip(),
        )
        for job in jobs:
            job_enqueue(job=job)
        numbers = ", ".join(str(job.pk) for job in jobs)
        return f"Queued generation job(s) {numbers}: {jobs[0].progress_total} prompts × {params_list[0].n} samples each."

    return _manage_action(request, campaign, run)


@require_POST
@staff_required
def manage_build(request: SignedInRequest, campaign: str) -> HttpResponse:
    def run(found: Campaign) -> str:
        options = BuildOptions(
            generators=tuple(request.POST.getlist("generators")),
            per_item=_optional_number(request, "per_item", int),
            max_per_prompt=_optional_number(request, "max_per_prompt", int),
            pairing=request.POST.get("pairing") or Pairing.WITHIN_PROMPT,
        )
        source = request.POST.get("source_campaign")
        built = items_build(
            campaign=found,
            kind=found.kind,
            options=options,
            source_campaign=campaign_get(name=source) if source else None,
        )
        return (
            f"Built {built.created} items ({built.already_built} groups already had items, "
            f"{built.skipped_identical} groups with identical texts skipped)."
        )

    return _manage_action(request, campaign, run)


# The campaign dashboard: numbers from the selector, charts drawn as SVG on the server (no JS library).
@require_GET
@staff_required
def manage_dashboard(request: SignedInRequest, campaign: str) -> HttpResponse:
    found = campaign_get(name=campaign)
    dashboard = campaign_dashboard(campaign=found)
    context = {
        "campaign": found,
        "dashboard": dashboard,
        "progress_segments": progress_segments(dashboard),
        "hour_chart": hour_chart(dashboard.labels_per_hour),
        "pair_min_shared_items": PAIR_MIN_SHARED_ITEMS,
    }
    template = "labelapp/dashboard.html#dashboard" if request.htmx else "labelapp/dashboard.html"
    return render(request, template, context)


def _export_option_posted(request: SignedInRequest, option: Option, campaign: Campaign) -> Any:
    """An export option as the manage page's form posts it (its fields: manage.html's export form)."""
    if option.kind == SWITCH:
        return request.POST.get(option.name) == "on"
    if option.kind != NAMES:
        return request.POST.get(option.name, "").strip() or None
    if option.form == CAMPAIGN_KIND:
        return [campaign.kind] if request.POST.get("format") in option.formats else []
    if option.form == GENERATOR_CHOICE:
        return request.POST.getlist(option.name)
    return request.POST.get(option.name, "").replace(",", " ").split()


@require_POST
@staff_required
def manage_export(request: SignedInRequest, campaign: str) -> HttpResponse:
    def run(found: Campaign) -> str:
        export = export_job_create(
            campaign=found,
            format=request.POST.get("format", ""),
            output=request.POST.get("output") or ExportOutput.JSONL,
            options={option.name: _export_option_posted(request, option, found) for option in OPTIONS},
            created_by=request.user,
        )
        job_enqueue(job=export)
        return (
            f"Queued export {export.pk} ({export.format}); its download link appears below when it is done."
        )

    return _manage_action(request, campaign, run)


@require_POST
@staff_required
def manage_job_retry(request: SignedInRequest, campaign: str, job_kind: str, job_id: int) -> HttpResponse:
    """Queue a failed or partly completed job again; it does only what is left. A second click while it
    is queued or running is told so and changes nothing."""
    job = job_get(campaign=campaign_get(name=campaign), kind=job_kind, job_id=job_id)
    return _manage_action(
        request,
        campaign,
        lambda found: f"{job_retry(job=job, actor=request.user).display_name} queued again.",
    )
