"""API rate limits: per user (API_RATE_USER), counted in the cache; over the limit is a 429 in the API's
error shape with Retry-After, and one user's requests never use up another's."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle


@pytest.fixture
def three_per_minute(monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/min"})


def api_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_a_user_over_the_rate_gets_429_with_retry_after(three_per_minute, campaign, labeller, other_labeller):
    client = api_as(labeller)
    path = "/api/v1/campaigns/prefs/progress/"
    assert [client.get(path).status_code for _ in range(3)] == [200, 200, 200]

    refused = client.get(path)
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["message"].startswith("Request was throttled.") and refused.json()["extra"] == {}

    assert api_as(other_labeller).get(path).status_code == 200  # per user, not per address


def test_the_rate_counts_a_users_session_and_token_requests_together(
    three_per_minute, campaign, labeller, client_for
):
    session = client_for(labeller)
    for _ in range(2):
        assert session.get("/api/v1/campaigns/prefs/progress/").status_code == 200
    assert api_as(labeller).get("/api/v1/campaigns/prefs/progress/").status_code == 200
    assert session.get("/api/v1/campaigns/prefs/progress/").status_code == 429
