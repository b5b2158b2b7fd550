"""Exports started from the manage page or the API run as Celery jobs, and staff download the result."""

import io
import json
import zipfile

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labelapp.models import AuditEntry, Export, JobStatus
from labelapp.services.exports import export_job_create, export_job_run
from tests.labelapp.exporters.conftest import vote


@pytest.fixture
def export_dir(settings, tmp_path):
    settings.LABELAPP_EXPORT_DIR = tmp_path / "exports"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return settings.LABELAPP_EXPORT_DIR


@pytest.fixture
def labelled(campaign, pairwise_items, raters):
    for item in pairwise_items:
        vote(item, raters[0], "a", "clear")
    return pairwise_items


def api_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_staff_start_poll_and_download_an_export_over_the_api(
    campaign, labelled, staff, export_dir, django_capture_on_commit_callbacks
):
    client = api_as(staff)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            "/api/v1/campaigns/prefs/exports/",
            {"format": "dpo", "options": {"min_labels": 1, "include_ties": False}},
            format="json",
        )
    assert started.status_code == 202 and started.json()["status"] == "queued"
    status = client.get(f"/api/v1/exports/{started.json()['id']}/").json()
    assert (status["status"], status["rows"], status["error"]) == ("succeeded", 3, "")
    assert status["download_url"] == f"http://testserver/api/v1/exports/{status['id']}/download/"

    download = client.get(status["download_url"])
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="prefs-dpo-{status["id"]}.jsonl"'
    rows = [json.loads(line) for line in body(download).decode().splitlines()]
    assert sorted(row["item_id"] for row in rows) == [item.pk for item in labelled]
    card = body(client.get(status["card_url"])).decode()
    assert card.startswith("---\npretty_name:") and "| train | 3 |" in card
    downloads = AuditEntry.objects.filter(action="export.download").order_by("pk")
    assert [(d.actor, d.target_ids, d.detail["file"]) for d in downloads] == [
        (staff, [status["id"]], "data"),
        (staff, [status["id"]], "card"),
    ]


def test_a_split_or_folder_export_downloads_as_one_zip(
    campaign, labelled, staff, export_dir, django_capture_on_commit_callbacks
):
    client = api_as(staff)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            "/api/v1/campaigns/prefs/exports/",
            {"format": "rm", "output": "dataset", "options": {"test_fraction": 0.5, "seed": 3}},
            format="json",
        ).json()
    download = client.get(f"/api/v1/exports/{started['id']}/download/")
    names = zipfile.ZipFile(io.BytesIO(body(download))).namelist()
    folder = f"prefs-rm-{started['id']}"
    assert f"{folder}/dataset_dict.json" in names and f"{folder}/README.md" in names
    assert any(name.startswith(f"{folder}/test/") for name in names)


def test_bad_export_requests_are_400s_naming_the_field(campaign, staff, export_dir):
    client = api_as(staff)
    cases = [
        ({"format": "csv"}, "format"),
        ({"format": "dpo", "output": "xlsx"}, "output"),
        ({"format": "kto"}, "kto_from"),
        ({"format": "dpo", "options": {"min_agreement": 3}}, "min_agreement"),
        ({"format": "dpo", "options": {"exclude_labellers": ["ghost"]}}, "exclude_labellers"),
        ({"format": "kto", "options": {"kto_from": ["correctness"]}}, "kto_from"),
        ({"format": "dpo", "options": {"expand_pairs": True}}, "expand_pairs"),
    ]
    for payload, field in cases:
        response = client.post("/api/v1/campaigns/prefs/exports/", payload, format="json")
        assert response.status_code == 400 and response.json()["extra"]["field"] == field, payload
    assert Export.objects.count() == 0


def test_only_staff_may_export_or_download(campaign, labelled, labeller, staff, export_dir):
    export = export_job_create(campaign=campaign, format="dpo", output="jsonl", options={}, created_by=staff)
    export_job_run(export_id=export.pk)
    client = api_as(labeller)
    assert (
        client.post("/api/v1/campaigns/prefs/exports/", {"format": "dpo"}, format="json").status_code == 403
    )
    assert client.get(f"/api/v1/exports/{export.pk}/").status_code == 403
    assert client.get(f"/api/v1/exports/{export.pk}/download/").status_code == 403
    assert APIClient().get(f"/api/v1/exports/{export.pk}/download/").status_code in {401, 403}


def test_an_export_written_by_the_command_line_is_not_served(campaign, labelled, staff, export_dir, tmp_path):
    from django.core.management import call_command

    call_command("export_dataset", campaign="prefs", format="dpo", out=str(tmp_path / "mine.jsonl"))
    export = Export.objects.get()
    response = api_as(staff).get(f"/api/v1/exports/{export.pk}/download/")
    assert response.status_code == 404 and "written by the command line" in response.json()["message"]


def test_a_failing_job_is_marked_failed_with_the_error(
    campaign, labelled, staff, export_dir, monkeypatch, django_capture_on_commit_callbacks
):
    from labelapp.services import exports as service

    def explode(plan, **_):
        raise OSError("No space left on device")

    monkeypatch.setattr(service, "export_write", explode)
    with django_capture_on_commit_callbacks(execute=True):  # an eager task keeps its error to itself
        api_as(staff).post("/api/v1/campaigns/prefs/exports/", {"format": "dpo"}, format="json")
    export = Export.objects.get()
    assert export.status == JobStatus.FAILED and export.error == "OSError: No space left on device"
    assert export_job_run(export_id=export.pk) is None  # a finished job is not run again


def test_staff_export_from_the_manage_page_and_see_the_download_link(
    campaign, labelled, staff, client_for, export_dir, django_capture_on_commit_callbacks
):
    client = client_for(staff)
    page = client.get("/manage/prefs/").content.decode()
    assert 'action="/manage/prefs/export/"' in page and '<option value="hh-rlhf"' in page
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            "/manage/prefs/export/",
            {
                "format": "kto",
                "output": "parquet",
                "min_labels": "1",
                "generators": ["fake-model"],
            },
            follow=True,
        ).content.decode()
    export = Export.objects.get()
    assert f"Queued export {export.pk} (kto)" in page
    assert 'hx-trigger="every 2s"' in page  # the page polls while the export is queued
    assert export.status == JobStatus.SUCCEEDED and export.rows == 6
    assert export.options["generators"] == ["fake-model"] and export.options["kto_from"] == ["pairwise"]
    page = client.get("/manage/prefs/").content.decode()  # the worker ran once the request committed
    assert f'href="/api/v1/exports/{export.pk}/download/"' in page and "every 2s" not in page
    assert client.get(f"/api/v1/exports/{export.pk}/download/").status_code == 200

    page = client.post("/manage/prefs/export/", {"format": "dpo", "min_agreement": "high"}, follow=True)
    assert "Field &#x27;min_agreement&#x27; must be a number" in page.content.decode()
