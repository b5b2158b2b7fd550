from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from labelapp.errors import ApplicationError


class ApplicationErrorMiddleware:
    """Any ApplicationError a page lets through becomes the error page with its status, never a traceback."""

    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError):
            return None
        return render(
            request, "labelapp/error.html", {"error": exception.message}, status=exception.status_code
        )
