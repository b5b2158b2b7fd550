"""Login throttling (django-axes, in the database): after LOGIN_FAILURE_LIMIT failed logins for one username
from one address, that login is refused, even with the right password, and the login page says so."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client

from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def log_in(client: Client, username: str, password: str, path: str = "/accounts/login/"):
    return client.post(path, {"username": username, "password": password, "next": "/"})


def fail_until_locked(client: Client, username: str, limit: int) -> None:
    for attempt in range(1, limit + 1):
        response = log_in(client, username, f"wrong {attempt}")
        if attempt < limit:
            assert response.status_code == 200 and "didn't match" in response.content.decode()


def test_too_many_failures_lock_the_login_and_the_page_says_for_how_long(labeller, settings):
    client = Client()
    fail_until_locked(client, labeller.username, settings.AXES_FAILURE_LIMIT)

    refused = log_in(client, labeller.username, PASSWORD)  # the right password, too late
    html = refused.content.decode()
    assert refused.status_code == 429 and "_auth_user_id" not in client.session
    assert 'id="locked-out"' in html and "Too many failed logins for this account" in html
    assert "Try again in 15 minutes" in html
    assert '<input name="username"' in html  # still the login page, not a bare error

    # Another account from the same address is not locked out.
    other = Client()
    assert log_in(other, "nobody-else", "wrong").status_code == 200


def test_the_lock_lifts_after_the_cool_off(labeller, settings):
    client = Client()
    fail_until_locked(client, labeller.username, settings.AXES_FAILURE_LIMIT)
    assert log_in(client, labeller.username, PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )

    response = log_in(client, labeller.username, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(labeller.pk)


def test_a_successful_login_resets_the_count(labeller, settings):
    client = Client()
    fail_until_locked(client, labeller.username, settings.AXES_FAILURE_LIMIT - 1)
    assert log_in(client, labeller.username, PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    fail_until_locked(client, labeller.username, settings.AXES_FAILURE_LIMIT - 1)
    assert log_in(client, labeller.username, PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(staff, settings):
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, staff.username, f"wrong {attempt}", path="/admin/login/")
    response = log_in(client, staff.username, PASSWORD, path="/admin/login/")
    assert response.status_code == 429 and "Too many failed logins" in response.content.decode()
