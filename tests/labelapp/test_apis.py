import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labelapp.models import Label
from labelapp.selectors.items import item_shown_indices
from labelapp.services.labellers import user_upsert


def api_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_a_labeller_leases_labels_and_reads_progress_with_a_token(campaign, pairwise_items, labeller):
    client = api_as(labeller)
    leased = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]
    assert [c["position"] for c in leased["candidates"]] == ["A", "B"]
    assert leased["prompt"].startswith("Question")

    response = client.post(
        f"/api/v1/items/{leased['id']}/labels/",
        {"value": {"choice": "b", "strength": "slight"}, "idempotency_key": "k1"},
        format="json",
    )
    assert response.status_code == 201
    stored = Label.objects.get()
    canonical_b_shown_second = item_shown_indices(stored.item)[1] == 1
    assert stored.value["choice"] == ("b" if canonical_b_shown_second else "a")

    retried = client.post(
        f"/api/v1/items/{leased['id']}/labels/",
        {"value": {"choice": "b"}, "idempotency_key": "k1"},
        format="json",
    )
    assert retried.status_code == 200 and retried.json()["id"] == stored.pk

    progress = client.get("/api/v1/campaigns/prefs/progress/").json()
    assert progress == {
        "items_total": 3,
        "items_complete": 0,
        "items_in_progress": 1,
        "items_untouched": 2,
        "labels_total": 1,
        "labels_wanted": 6,
        "my_labels": 1,
    }


def test_a_bad_value_is_a_400_naming_the_field(campaign, pairwise_items, labeller):
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    response = client.post(
        f"/api/v1/items/{item_id}/labels/",
        {"value": {"choice": "maybe"}, "idempotency_key": "k"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "Field 'choice' must be one of a, b, tie, both_bad.",
        "extra": {"field": "choice", "allowed": ["a", "b", "tie", "both_bad"]},
    }
    missing = client.post(f"/api/v1/items/{item_id}/labels/", {"value": {"choice": "a"}}, format="json")
    assert missing.status_code == 400 and "idempotency_key" in missing.json()["extra"]["fields"]
    assert Label.objects.count() == 0


def test_another_labellers_item_is_404_and_nothing_is_stored(
    campaign, pairwise_items, labeller, other_labeller
):
    theirs = api_as(other_labeller).post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    response = api_as(labeller).post(
        f"/api/v1/items/{theirs}/labels/", {"value": {"choice": "a"}, "idempotency_key": "k"}, format="json"
    )
    assert response.status_code == 404 and Label.objects.count() == 0


def test_nothing_left_says_so(campaign, labeller):
    body = api_as(labeller).post("/api/v1/campaigns/prefs/next-item/").json()
    assert body == {"item": None, "message": "No item is left for you in campaign 'prefs'."}


@pytest.mark.parametrize("path", ["/api/v1/campaigns/prefs/next-item/", "/api/v1/items/1/labels/"])
def test_anonymous_and_non_labellers_are_refused(campaign, path, db):
    assert APIClient().post(path).status_code in (401, 403)
    outsider = user_upsert(username="outsider", password="x" * 10, staff=False)
    outsider.groups.clear()
    assert api_as(outsider).post(path).status_code == 403


def test_progress_of_an_unknown_campaign_is_404(labeller):
    response = api_as(labeller).get("/api/v1/campaigns/nope/progress/")
    assert response.status_code == 404 and "nope" in response.json()["message"]


def test_the_openapi_schema_lists_the_operations(labeller):
    client = api_as(labeller)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert {
        "/api/v1/campaigns/{campaign}/next-item/",
        "/api/v1/items/{item_id}/labels/",
        "/api/v1/campaigns/{campaign}/progress/",
    } <= set(schema["paths"])
    components = set(schema["components"]["schemas"])
    assert {
        "NextItem",
        "Label",
        "LabelSubmitInput",
        "ItemSkipInput",
        "CampaignProgress",
        "CampaignDashboard",
    } <= components
    assert APIClient().get("/api/schema/").status_code in (401, 403)


def test_progress_takes_a_fixed_number_of_queries(
    campaign, pairwise_items, labeller, django_assert_max_num_queries
):
    client = api_as(labeller)
    with django_assert_max_num_queries(9):
        client.get("/api/v1/campaigns/prefs/progress/")


def test_skip_through_the_api_and_a_refusal_is_a_403_with_the_reason(campaign, pairwise_items, labeller):
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    assert (
        client.post(f"/api/v1/items/{item_id}/skip/", {"reason": "unclear"}, format="json").status_code == 204
    )
    assert client.post(f"/api/v1/items/{item_id}/skip/", {}, format="json").status_code == 404
    campaign.status = "paused"
    campaign.save()
    response = client.post("/api/v1/campaigns/prefs/next-item/")
    assert response.status_code == 404  # paused campaigns are not open to labellers at all
