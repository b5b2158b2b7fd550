from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, path, register_converter
from django.urls.converters import IntConverter, StringConverter
from rest_framework.views import APIView

from labelapp import apis, report_views, views


class RowIdConverter(IntConverter):
    """A row id: at most 18 digits, so it fits the 64-bit id column (a longer one is a 404, not a 500)."""

    regex = "[0-9]{1,18}"


register_converter(RowIdConverter, "id")


class NameConverter(StringConverter):
    """A campaign name or report kind: any text but "/" and NUL, which PostgreSQL cannot take in a query
    (a URL holding %00 is a 404 on both databases, not a 500 on PostgreSQL)."""

    regex = r"[^/\x00]+"


register_converter(NameConverter, "name")


def api_path(route: str, api: type[APIView], name: str) -> URLPattern:
    # The API authenticates by token as well as session: DRF, not the login middleware, answers 401/403.
    return path(route, login_not_required(api.as_view()), name=name)


api_urlpatterns = [
    api_path("campaigns/<name:campaign>/next-item/", apis.NextItemApi, "api-next-item"),
    api_path("campaigns/<name:campaign>/progress/", apis.CampaignProgressApi, "api-campaign-progress"),
    api_path("items/<id:item_id>/labels/", apis.LabelSubmitApi, "api-label-submit"),
    api_path(
        "campaigns/<name:campaign>/items/<id:item_id>/label/", apis.LabelAndNextApi, "api-label-and-next"
    ),
    api_path("items/<id:item_id>/skip/", apis.ItemSkipApi, "api-item-skip"),
    api_path("campaigns/<name:campaign>/dashboard/", apis.CampaignDashboardApi, "api-campaign-dashboard"),
    api_path("campaigns/<name:campaign>/exports/", apis.ExportStartApi, "api-export-start"),
    api_path("campaigns/<name:campaign>/imports/", apis.DatasetImportApi, "api-dataset-import"),
    api_path("exports/<id:export_id>/", apis.ExportStatusApi, "api-export-status"),
    api_path("exports/<id:export_id>/download/", apis.ExportDownloadApi, "api-export-download"),
    api_path("campaigns/", apis.CampaignsApi, "api-campaigns"),
    api_path("generators/", apis.GeneratorsApi, "api-generators"),
    api_path(
        "campaigns/<name:campaign>/generation-jobs/", apis.GenerationJobStartApi, "api-generation-job-start"
    ),
    api_path(
        "campaigns/<name:campaign>/generation-jobs/<id:job_id>/",
        apis.GenerationJobStatusApi,
        "api-generation-job-status",
    ),
    api_path("campaigns/<name:campaign>/item-builds/", apis.ItemBuildApi, "api-item-build"),
    api_path("campaigns/<name:campaign>/reports/<name:kind>/", apis.ReportApi, "api-report"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("label/<name:campaign>/", views.label_page, name="label"),
    path("label/<name:campaign>/items/<id:item_id>/", views.label_submit, name="label-submit"),
    path("label/<name:campaign>/items/<id:item_id>/skip/", views.label_skip, name="label-skip"),
    path(
        "label/<name:campaign>/items/<id:item_id>/heartbeat/", views.label_heartbeat, name="label-heartbeat"
    ),
    path("label/<name:campaign>/review/", views.review_page, name="review"),
    path("label/<name:campaign>/review/items/<id:item_id>/", views.review_submit, name="review-submit"),
    path("manage/<name:campaign>/", views.manage_page, name="manage"),
    path("manage/<name:campaign>/import/", views.manage_import, name="manage-import"),
    path("manage/<name:campaign>/gold/", views.manage_import_gold, name="manage-import-gold"),
    path("manage/<name:campaign>/generate/", views.manage_generate, name="manage-generate"),
    path("manage/<name:campaign>/build/", views.manage_build, name="manage-build"),
    path("manage/<name:campaign>/dashboard/", views.manage_dashboard, name="manage-dashboard"),
    path("manage/<name:campaign>/reports/", report_views.reports_index, name="reports"),
    path("manage/<name:campaign>/reports/<name:kind>/", report_views.report_page, name="report"),
    path("manage/<name:campaign>/export/", views.manage_export, name="manage-export"),
    path(
        "manage/<name:campaign>/jobs/<slug:job_kind>/<id:job_id>/retry/",
        views.manage_job_retry,
        name="manage-job-retry",
    ),
    path(
        "manage/<name:campaign>/reports/diversity/embeddings/",
        report_views.report_embeddings,
        name="report-embeddings",
    ),
]
