"""When the database does not answer, pages and the API say so with a 503 and Retry-After, never a 500.

The database errors are raised by stand-ins here; tests/system/test_faults_postgres.py restarts a real
PostgreSQL server under load.
"""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labelapp import apis, views

DOWN = OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")


def raise_(error: Exception):
    def fail(*args, **kwargs):
        raise error

    return fail


def api_as(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def assert_unavailable_json(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["extra"] == {"retry_after": 2}
    assert body["message"].startswith("The database is unavailable right now")


@pytest.mark.parametrize("error", [DOWN, InterfaceError("connection already closed")])
def test_the_api_answers_503_when_a_query_fails(campaign, pairwise_items, labeller, monkeypatch, error):
    client = api_as(labeller)
    monkeypatch.setattr(apis, "lease_next", raise_(error))
    assert_unavailable_json(client.post("/api/v1/campaigns/prefs/next-item/"))


def test_the_api_answers_503_when_the_token_cannot_be_looked_up(campaign, labeller, monkeypatch):
    client = api_as(labeller)
    monkeypatch.setattr(apis, "user_for_api_token", raise_(DOWN))
    assert_unavailable_json(client.post("/api/v1/campaigns/prefs/next-item/"))


def test_a_page_answers_503_when_its_view_fails(campaign, pairwise_items, labeller, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(labeller)
    monkeypatch.setattr(views, "lease_next", raise_(DOWN))
    response = client.get("/label/prefs/")
    assert response.status_code == 503 and response["Retry-After"] == "2"
    assert b"The database is unavailable right now" in response.content
    assert b"Traceback" not in response.content and b"5432" not in response.content


def test_a_page_answers_503_when_the_session_cannot_be_read(campaign, labeller, monkeypatch):
    """The session's user is read by a middleware, before any view: the first query a page runs."""
    client = Client(raise_request_exception=False)
    client.force_login(labeller)
    monkeypatch.setattr(SessionStore, "load", raise_(DOWN))
    response = client.get("/label/prefs/")
    assert response.status_code == 503 and response["Retry-After"] == "2"
    assert b"The database is unavailable right now" in response.content


def test_other_failures_are_still_the_500_page(campaign, pairwise_items, labeller, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(labeller)
    monkeypatch.setattr(views, "lease_next", raise_(RuntimeError("a bug")))
    response = client.get("/label/prefs/")
    assert response.status_code == 500 and "Retry-After" not in response
