"""Staff pages of the research reports: one page per report kind, charts drawn as SVG on the server."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from labelapp.errors import ApplicationError
from labelapp.reports.registry import (
    ReportOptions,
    report_context,
    report_kind_get,
    report_kinds_for,
)
from labelapp.selectors.campaigns import campaign_get
from labelapp.services.embeddings import embedding_job_create
from labelapp.services.jobs import job_enqueue
from labelapp.views import staff_required


@require_GET
@staff_required
def reports_index(request: HttpRequest, campaign: str) -> HttpResponse:
    found = campaign_get(name=campaign)
    return render(
        request, "labelapp/reports/index.html", {"campaign": found, "kinds": report_kinds_for(found)}
    )


@require_GET
@staff_required
def report_page(request: HttpRequest, campaign: str, kind: str) -> HttpResponse:
    found = campaign_get(name=campaign)
    report_kind = report_kind_get(kind, campaign=found)
    options = ReportOptions(coherence_campaign=request.GET.get("coherence_campaign") or None)
    try:
        context = report_context(campaign=found, kind=report_kind, options=options)
    except ApplicationError as exc:
        # A choice the report needs (which campaign to join): the page offers the allowed values.
        if "allowed" not in exc.extra:
            raise
        context = {
            "campaign": found,
            "kind": report_kind,
            "kinds": report_kinds_for(found),
            "choice": exc,
            "choice_label": exc.extra["field"].replace("_", " ").capitalize(),
        }
        given = exc.extra.get("field") in request.GET
        return render(
            request, "labelapp/reports/page.html", context, status=exc.status_code if given else 200
        )
    return render(request, "labelapp/reports/page.html", context)


@require_POST
@staff_required
def report_embeddings(request: HttpRequest, campaign: str) -> HttpResponse:
    """Queue the embedding of a set-wise campaign's candidates for a worker; the diversity page reads them."""
    found = campaign_get(name=campaign)
    report_kind_get("diversity", campaign=found)
    job = embedding_job_create(campaign=found)
    job_enqueue(job=job)
    messages.success(
        request,
        f"Queued: a worker on queue 'inference' embeds the candidates ({job.display_name.lower()}, on the "
        "manage page). Reload this page to see them.",
    )
    return redirect("report", campaign=found.name, kind="diversity")
