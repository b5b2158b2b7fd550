"""Login throttling with django-axes: failed logins are counted per username and address, in the database."""

import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a login while its username and address are locked out.

    Code that authenticates without a request (a management command, a test) is no login form anyone can
    hammer, so it is let through to the next backend instead of failing as django-axes would.
    """

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """The login page again, saying for how long this login is locked (HTTP 429)."""
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    context = {
        "form": AuthenticationForm(request),
        "locked_out_minutes": minutes,
        "locked_out": True,
        "next": request.POST.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=429)
