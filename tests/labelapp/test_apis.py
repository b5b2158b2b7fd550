import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labelapp.apis import LabelSubmitApi
from labelapp.models import Label, Lease, Skip
from labelapp.selectors.items import item_shown_indices
from labelapp.services.labellers import labeller_suspend, user_upsert


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
        "labels_saved": 0,
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
        "/api/v1/campaigns/{campaign}/items/{item_id}/label/",
        "/api/v1/campaigns/{campaign}/progress/",
    } <= set(schema["paths"])
    label_and_next = schema["paths"]["/api/v1/campaigns/{campaign}/items/{item_id}/label/"]["post"]
    assert "next" in [parameter["name"] for parameter in label_and_next["parameters"]]
    assert "413" in label_and_next["responses"]  # an over-size body, in the error shape
    assert "413" not in schema["paths"]["/api/v1/campaigns/{campaign}/progress/"]["get"]["responses"]
    components = set(schema["components"]["schemas"])
    assert {
        "NextItem",
        "Label",
        "LabelAndNext",
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
        response = client.get("/api/v1/campaigns/prefs/progress/")
    assert response.status_code == 200 and response.json()["items_total"] == 3


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


def label_and_next(client, campaign, item_id, key, choice="a", query="?next=1"):
    return client.post(
        f"/api/v1/campaigns/{campaign}/items/{item_id}/label/{query}",
        {"value": {"choice": choice}, "idempotency_key": key},
        format="json",
    )


def test_one_request_per_label_stores_it_and_answers_the_next_item(campaign, pairwise_items, labeller):
    client = api_as(labeller)
    item = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]
    seen = [item["id"]]
    while item is not None:
        response = label_and_next(client, "prefs", item["id"], key=f"k{item['id']}")
        assert response.status_code == 201
        body = response.json()
        assert body["label"]["item"] == item["id"]
        assert (
            body["label"] == LabelSubmitApi.OutputSerializer(Label.objects.get(pk=body["label"]["id"])).data
        )
        item = body["next"]["item"]
        if item is not None:
            assert [c["position"] for c in item["candidates"]] == ["A", "B"] and item["id"] not in seen
            assert Lease.objects.get(labeller=labeller).item_id == item["id"]
            seen.append(item["id"])
    assert body["next"]["message"] == "No item is left for you in campaign 'prefs'."
    assert sorted(seen) == [i.pk for i in pairwise_items] and Label.objects.count() == 3
    assert not Lease.objects.filter(labeller=labeller).exists()


def test_without_next_the_label_is_stored_and_no_item_leased(campaign, pairwise_items, labeller):
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    response = label_and_next(client, "prefs", item_id, key="k1", query="")
    assert response.status_code == 201 and response.json()["next"] is None
    assert Label.objects.count() == 1 and not Lease.objects.exists()


def test_a_retried_label_and_next_stores_one_label_and_answers_the_same_next_item(
    campaign, pairwise_items, labeller
):
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    first = label_and_next(client, "prefs", item_id, key="k1")
    again = label_and_next(client, "prefs", item_id, key="k1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["label"] == first.json()["label"]
    assert again.json()["next"]["item"]["id"] == first.json()["next"]["item"]["id"]
    assert Label.objects.count() == 1 and Lease.objects.filter(labeller=labeller).count() == 1


def test_a_label_with_the_next_message_records_one_continuation_of_the_conversation(
    campaign, pairwise_items, labeller
):
    from labelapp.models import Continuation, JobStatus

    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    sent = {"value": {"choice": "a", "next_message": "Why?"}, "idempotency_key": "k1"}
    url = f"/api/v1/campaigns/prefs/items/{item_id}/label/?next=1"
    refused = client.post(url, sent, format="json")
    assert refused.status_code == 400 and refused.json()["extra"]["field"] == "next_message"

    campaign.labels_per_item, campaign.continue_turns = 1, 1
    campaign.save()
    assert [client.post(url, sent, format="json").status_code for _ in range(2)] == [201, 200]
    assert Label.objects.get(item_id=item_id).value["next_message"] == "Why?"
    continuation = Continuation.objects.get()
    assert (continuation.item_id, continuation.status) == (item_id, JobStatus.QUEUED)


def test_label_and_next_on_an_item_of_another_campaign_is_404_and_stores_nothing(
    campaign, pairwise_items, labeller
):
    from labelapp.models import Campaign

    Campaign.objects.create(name="other", labels_per_item=1)
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    response = label_and_next(client, "other", item_id, key="k1")
    assert response.status_code == 404
    assert response.json()["message"] == f"Item {item_id} is not leased to you in campaign 'other'."
    assert Label.objects.count() == 0 and Lease.objects.filter(labeller=labeller).count() == 1


def test_a_bad_value_through_label_and_next_is_a_400_and_keeps_the_lease(campaign, pairwise_items, labeller):
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    response = label_and_next(client, "prefs", item_id, key="k1", choice="maybe")
    assert response.status_code == 400 and response.json()["extra"]["field"] == "choice"
    assert Label.objects.count() == 0 and Lease.objects.get(labeller=labeller).item_id == item_id


def test_when_no_next_item_may_be_leased_the_label_is_kept_and_next_says_why(
    campaign, pairwise_items, labeller
):
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    campaign.gold_rate, campaign.min_gold_accuracy, campaign.min_gold_labels = 0.0, 0.9, 1
    campaign.save()
    item = campaign.items.get(pk=item_id)
    item.is_gold, item.gold_value = True, {"choice": "tie"}
    item.save()
    response = label_and_next(client, "prefs", item_id, key="k1", choice="a")  # wrong: below 90%
    assert response.status_code == 201 and Label.objects.get().gold_correct is False
    assert response.json()["next"] == {
        "item": None,
        "message": "Gold accuracy 0% is below the campaign's 90%",
    }
    assert not Lease.objects.filter(labeller=labeller).exists()


def test_a_token_of_a_suspended_labeller_still_authenticates_but_leases_nothing(
    campaign, pairwise_items, labeller
):
    client = api_as(labeller)
    labeller_suspend(user=labeller, reason="checking")
    response = client.post("/api/v1/campaigns/prefs/next-item/")
    assert response.status_code == 403 and response.json()["message"] == "Suspended: checking"
    assert APIClient(HTTP_AUTHORIZATION="Token not-a-token").post(
        "/api/v1/campaigns/prefs/next-item/"
    ).json() == {"message": "Invalid token.", "extra": {}}


# Query counts of the labelling loop, so they cannot creep back up. On PostgreSQL the label's three
# writes are one statement; inside a test's transaction each service's transaction is a savepoint.
def expected_queries(postgresql: int, sqlite: int) -> int:
    return postgresql if connection.vendor == "postgresql" else sqlite


def test_next_item_takes_a_fixed_number_of_queries(
    campaign, pairwise_items, labeller, django_assert_num_queries
):
    client = api_as(labeller)
    # token + standing, campaign, (savepoint), my lease, open items, lease insert, (release), item text
    with django_assert_num_queries(8):
        response = client.post("/api/v1/campaigns/prefs/next-item/")
    assert response.status_code == 200 and response.json()["item"] is not None


def test_label_and_next_takes_a_fixed_number_of_queries(
    campaign, pairwise_items, labeller, django_assert_num_queries
):
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    # token + standing, (savepoint), lease + item + campaign + shown order, label write, my lease,
    # open items, lease insert, (release), item text
    with django_assert_num_queries(expected_queries(postgresql=9, sqlite=11)):
        response = label_and_next(client, "prefs", item_id, key="k1")
    assert response.status_code == 201 and response.json()["next"]["item"] is not None


def test_submit_takes_a_fixed_number_of_queries(
    campaign, pairwise_items, labeller, django_assert_num_queries
):
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    # token + standing, (savepoint), lease + item + shown order, label write, (release)
    with django_assert_num_queries(expected_queries(postgresql=5, sqlite=7)):
        response = client.post(
            f"/api/v1/items/{item_id}/labels/",
            {"value": {"choice": "a"}, "idempotency_key": "k"},
            format="json",
        )
    assert response.status_code == 201


def test_busy_is_a_503_with_retry_after(campaign, pairwise_items, labeller, monkeypatch):
    from labelapp import apis
    from labelapp.errors import BusyError

    def busy(**_):
        raise BusyError("Campaign 'prefs' is busy.", {"retry_after": 1})

    monkeypatch.setattr(apis, "lease_next", busy)
    response = api_as(labeller).post("/api/v1/campaigns/prefs/next-item/")
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert response.json() == {"message": "Campaign 'prefs' is busy.", "extra": {"retry_after": 1}}


# --- text a labeller may send, and the API's error shape ------------------------------------------------


def post_json(client: APIClient, path: str, body: str):
    """A raw JSON body, as a client would send it (JSON escapes included)."""
    return client.post(path, body, content_type="application/json")


LABEL_PATHS = ["/api/v1/items/{id}/labels/", "/api/v1/campaigns/prefs/items/{id}/label/?next=1"]


@pytest.mark.parametrize("path", LABEL_PATHS)
def test_a_lone_surrogate_in_a_label_is_a_400_naming_the_field_and_nothing_is_stored(
    campaign, pairwise_items, labeller, staff, client_for, tmp_path, path
):
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    body = '{"value": {"choice": "a", "rationale": "a\\ud800b"}, "idempotency_key": "k"}'
    for _ in range(2):  # the retry with the same idempotency key too
        response = post_json(client, path.format(id=item_id), body)
        assert response.status_code == 400
        assert response.json() == {
            "message": "Field 'value.rationale' holds a lone surrogate (\\ud800), which is not valid UTF-8.",
            "extra": {"field": "value.rationale"},
        }
    assert Label.objects.count() == 0 and Lease.objects.filter(item_id=item_id, labeller=labeller).exists()

    good = post_json(
        client,
        path.format(id=item_id),
        '{"value": {"choice": "a", "rationale": "ok"}, "idempotency_key": "k"}',
    )
    assert good.status_code == 201
    assert client_for(staff).get("/admin/labelapp/label/").status_code == 200
    out = tmp_path / "raw.jsonl"
    call_command("export_dataset", campaign="prefs", format="raw", out=str(out))
    assert [json.loads(line)["value"]["rationale"] for line in out.read_text().splitlines()] == ["ok"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"value": {"choice": "a", "rationale": "nul\\u0000"}, "idempotency_key": "k"}', "value.rationale"),
        ('{"value": {"choice": "a"}, "idempotency_key": "k\\u0000"}', "idempotency_key"),
        ('{"value": {"choice": "a", "\\u0000": 1}, "idempotency_key": "k"}', "value"),
    ],
)
def test_nul_in_a_label_is_a_400_naming_the_field(campaign, pairwise_items, labeller, body, field):
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    response = post_json(client, f"/api/v1/items/{item_id}/labels/", body)
    assert response.status_code == 400 and response.json()["extra"] == {"field": field}
    assert "NUL character" in response.json()["message"] and Label.objects.count() == 0


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"choice": "a", "rationale": 12}, "rationale"),
        ({"choice": "a", "rationale": {"why": "so"}}, "rationale"),
        ({"choice": "a", "criteria": {"honesty": "a"}}, "criteria"),
    ],
)
def test_a_rationale_that_is_not_text_or_criteria_the_campaign_lacks_are_a_400(
    campaign, pairwise_items, labeller, value, field
):
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    response = client.post(
        f"/api/v1/items/{item_id}/labels/", {"value": value, "idempotency_key": "k"}, format="json"
    )
    assert response.status_code == 400 and response.json()["extra"]["field"] == field
    assert f"Field '{field}'" in response.json()["message"] and Label.objects.count() == 0


def test_a_label_sent_as_a_form_is_held_to_the_same_rules(campaign, pairwise_items, labeller):
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    path = f"/api/v1/items/{item_id}/labels/"
    surrogate = client.post(
        path, {"value": '{"choice": "a", "rationale": "\\udc80"}', "idempotency_key": "k"}
    )
    assert surrogate.status_code == 400 and surrogate.json()["extra"] == {"field": "value.rationale"}
    deep = client.post(path, {"value": "[" * 1000 + "]" * 1000, "idempotency_key": "k"})
    assert deep.status_code == 400 and deep.json()["extra"] == {"field": "value"}
    assert Label.objects.count() == 0
    assert client.post(path, {"value": '{"choice": "a"}', "idempotency_key": "k"}).status_code == 201


@pytest.mark.parametrize("encoded", ["json", "form"])
def test_a_skip_reason_with_nul_is_a_400_and_nothing_is_skipped(campaign, pairwise_items, labeller, encoded):
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    path = f"/api/v1/items/{item_id}/skip/"
    if encoded == "json":
        response = post_json(client, path, '{"reason": "bad\\u0000"}')
        assert response.json()["extra"] == {"field": "reason"}
    else:
        response = client.post(path, "reason=bad%00", content_type="application/x-www-form-urlencoded")
        assert "reason" in response.json()["extra"]["fields"]
    assert response.status_code == 400 and not Skip.objects.exists()


@pytest.mark.parametrize(
    "path",
    [*LABEL_PATHS, "/api/v1/items/{id}/skip/"],
)
def test_a_body_nested_a_thousand_levels_deep_is_a_400(campaign, pairwise_items, labeller, path):
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    response = post_json(client, path.format(id=item_id), "[" * 1000 + "]" * 1000)
    assert response.status_code == 400
    assert response.json() == {
        "message": "The request body is nested deeper than 32 levels.",
        "extra": {"field": "body"},
    }
    fifty = '{"value": ' + "[" * 50 + "]" * 50 + ', "idempotency_key": "k"}'  # parses, but is refused too
    response = post_json(client, path.format(id=item_id), fifty)
    assert response.status_code == 400 and "nested deeper than 32 levels" in response.json()["message"]
    assert Label.objects.count() == 0 and not Skip.objects.exists()


@pytest.mark.parametrize("debug", [False, True])
def test_an_over_size_body_is_a_413_in_the_api_error_shape(
    campaign, pairwise_items, labeller, settings, debug
):
    settings.DEBUG, settings.DATA_UPLOAD_MAX_MEMORY_SIZE = debug, 1000
    client = api_as(labeller)
    item_id = client.post("/api/v1/campaigns/prefs/next-item/").json()["item"]["id"]
    body = json.dumps({"value": {"choice": "a", "rationale": "x" * 2000}, "idempotency_key": "k"})
    response = post_json(client, f"/api/v1/items/{item_id}/labels/", body)
    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    assert response.json() == {
        "message": "The request body is larger than 1000 bytes.",
        "extra": {"max_bytes": 1000},
    }
    form = client.post(f"/api/v1/items/{item_id}/skip/", {"reason": "x" * 2000})
    assert form.status_code == 413 and form.json()["extra"] == {"max_bytes": 1000}
    assert Label.objects.count() == 0 and not Skip.objects.exists()


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("signed_in", [False, True])
def test_a_url_under_api_that_matches_no_route_is_a_404_in_the_api_error_shape(
    labeller, settings, debug, signed_in
):
    settings.DEBUG = debug
    client = api_as(labeller) if signed_in else APIClient()
    for method, path in [("get", "/api/v1/nothing/here/"), ("post", "/api/v2/"), ("get", "/api/")]:
        response = getattr(client, method)(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert response.json() == {"message": f"No API endpoint at {path}.", "extra": {}}
    from_a_page = Client(enforce_csrf_checks=True)
    from_a_page.force_login(labeller)
    response = from_a_page.post("/api/v1/nothing/", {})  # no CSRF token: the 404 still, not CSRF's 403
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    response = client.post("/api/v1/campaigns/prefs/next-item")
    assert response.status_code == 404 and response.json() == {
        "message": "No API endpoint at /api/v1/campaigns/prefs/next-item. API URLs end in a slash: "
        "/api/v1/campaigns/prefs/next-item/",
        "extra": {},
    }


def test_an_unexpected_error_in_the_api_is_a_500_in_its_error_shape(labeller, monkeypatch):
    from labelapp import apis

    def broken(**_):
        raise RuntimeError("a bug")

    monkeypatch.setattr(apis, "campaign_get_for_user", broken)
    client = api_as(labeller)
    client.raise_request_exception = False
    response = client.get("/api/v1/campaigns/prefs/progress/")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json() == {"message": "Server error: the request failed.", "extra": {}}
