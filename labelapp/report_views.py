"""Staff pages of the research reports: one page per report kind, charts drawn as SVG on the server."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from labelapp.reports.registry import REPORTS, ReportOptions, report_context, report_kind_get
from labelapp.selectors.campaigns import campaign_get
from labelapp.views import staff_required


@require_GET
@staff_required
def reports_index(request: HttpRequest, campaign: str) -> HttpResponse:
    found = campaign_get(name=campaign)
    return render(
        request, "labelapp/reports/index.html", {"campaign": found, "kinds": list(REPORTS.values())}
    )


@require_GET
@staff_required
def report_page(request: HttpRequest, campaign: str, kind: str) -> HttpResponse:
    context = report_context(
        campaign=campaign_get(name=campaign), kind=report_kind_get(kind), options=ReportOptions()
    )
    return render(request, "labelapp/reports/page.html", context)
