from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults

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


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A URL that matches no route: under /api/ in the API's error shape, elsewhere Django's 404 page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"message": f"No API endpoint at {request.path}.", "extra": {}}, status=404)
    return defaults.page_not_found(request, exception)
