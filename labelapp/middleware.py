import sys

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from labelapp.errors import DATABASE_UNAVAILABLE, ApplicationError, DatabaseUnavailableError


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
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


API_NOT_FOUND = "api-not-found"


@csrf_exempt  # it changes nothing; a POST from a page should get the 404 too, not CSRF's 403 page
@login_not_required
def api_not_found(request: HttpRequest) -> HttpResponse:
    """The last route under /api/: with DEBUG on, Django would answer its technical 404 page, not handler404."""
    message = f"No API endpoint at {request.path}."
    if not request.path.endswith("/") and resolve(f"{request.path_info}/").url_name != API_NOT_FOUND:
        message += f" API URLs end in a slash: {request.path}/"
    return JsonResponse({"message": message, "extra": {}}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """An uncaught exception: Django's 500 page (under /api/, the API's error shape), or 503 with
    Retry-After when the database did not answer.

    Here rather than in a middleware's process_exception: the first query of a page is often the session's
    user, read by a middleware, whose exceptions reach no process_exception. The page is rendered without
    the request, so no context processor goes back to the database.
    """
    if not isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        if request.path.startswith("/api/"):
            return JsonResponse({"message": "Server error: the request failed.", "extra": {}}, status=500)
        return defaults.server_error(request)
    unavailable = DatabaseUnavailableError()
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"message": unavailable.message, "extra": unavailable.extra}, status=503)
    else:
        response = HttpResponse(
            render_to_string("labelapp/error.html", {"error": unavailable.message}), status=503
        )
    response["Retry-After"] = str(unavailable.extra["retry_after"])
    return response
