"""The import endpoint: staff upload a file (multipart), imported in the request, all or nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labelapp.models import Candidate, Prompt, SourceLabel
from tests.labelapp.importers.conftest import FILES, parquet_copy

URL = "/api/v1/campaigns/prefs/imports/"


def api_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_staff_import_a_dataset_and_importing_it_again_adds_nothing(campaign, staff):
    client = api_as(staff)
    content = (FILES / "hh-rlhf.jsonl").read_bytes()
    response = client.post(
        URL, {"file": upload("hh.jsonl", content), "format": "hh-rlhf", "source": "Anthropic/hh-rlhf"}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["rows"], body["prompts"], body["items"], body["source_labels"]) == (
        3,
        {"new": 3, "existing": 0},
        {"new": 3, "existing": 0},
        {"new": 3, "existing": 0},
    )
    assert body["generators_created"] == ["Anthropic/hh-rlhf"]
    again = client.post(
        URL, {"file": upload("hh.jsonl", content), "format": "hh-rlhf", "source": "Anthropic/hh-rlhf"}
    )
    assert again.status_code == 201 and "0 new" in again.json()["summary"]
    assert set(SourceLabel.objects.values_list("source", flat=True)) == {"Anthropic/hh-rlhf"}


def test_a_parquet_upload(campaign, staff, tmp_path):
    content = parquet_copy("ultrafeedback.jsonl", tmp_path).read_bytes()
    response = api_as(staff).post(URL, {"file": upload("uf.parquet", content), "format": "ultrafeedback"})
    assert response.status_code == 201 and response.json()["candidates"]["new"] == 7


def test_a_bad_row_is_a_400_naming_file_line_and_field_and_nothing_is_stored(campaign, staff):
    content = (
        FILES / "hh-rlhf.jsonl"
    ).read_bytes() + b'{"chosen": "\\n\\nHuman: Hi\\n\\nAssistant: Hello"}\n'
    response = api_as(staff).post(URL, {"file": upload("hh.jsonl", content), "format": "hh-rlhf"})
    assert response.status_code == 400
    assert response.json() == {
        "message": "hh.jsonl, line 4, field 'rejected': is required",
        "extra": {"file": "hh.jsonl", "line": 4, "field": "rejected"},
    }
    assert not Prompt.objects.exists() and not Candidate.objects.exists()


def test_a_format_the_campaign_cannot_hold_and_an_unknown_one_are_400s(campaign, staff):
    client = api_as(staff)
    campaign.kind = "ranking"
    campaign.save()
    wrong_kind = client.post(URL, {"file": upload("hh.jsonl", b"{}\n"), "format": "hh-rlhf"})
    assert wrong_kind.status_code == 400
    assert wrong_kind.json()["message"].startswith(
        "Format 'hh-rlhf' imports into pairwise, correctness or coherence"
    )
    unknown = client.post(URL, {"file": upload("x.jsonl", b"{}\n"), "format": "csv"})
    assert unknown.status_code == 400 and "format" in unknown.json()["extra"]["fields"]


def test_an_upload_over_the_limit_is_refused_before_it_is_read(
    campaign, staff, settings, django_assert_max_num_queries
):
    settings.LABELAPP_IMPORT_UPLOAD_MAX_BYTES = 1000
    client = api_as(staff)
    content = (FILES / "ultrafeedback.jsonl").read_bytes()  # over 1000 bytes, and not even in hh-rlhf's shape
    with django_assert_max_num_queries(2):  # the token and the campaign: the body is never parsed
        response = client.post(URL, {"file": upload("uf.jsonl", content), "format": "hh-rlhf"})
    assert response.status_code == 413
    body = response.json()
    assert body["message"].endswith(
        "files up to 0.001 MB import here. Import a larger one from the command line: python manage.py "
        "import_dataset FILE --campaign prefs --format FORMAT"
    )
    assert body["extra"] == {"field": "file", "max_bytes": 1000}


def test_labellers_may_not_import(campaign, labeller):
    response = api_as(labeller).post(URL, {"file": upload("hh.jsonl", b"{}\n"), "format": "hh-rlhf"})
    assert response.status_code == 403 and not Prompt.objects.exists()


@pytest.mark.django_db
def test_the_endpoint_is_in_the_openapi_schema_as_a_multipart_upload():
    operation = SchemaGenerator().get_schema(request=None, public=True)["paths"][
        "/api/v1/campaigns/{campaign}/imports/"
    ]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    assert body.endswith("/DatasetImportInput") and operation["operationId"] == "campaign_import"
    assert {"201", "400", "403", "413"} <= set(operation["responses"])
