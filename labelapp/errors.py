from typing import Any

from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, models


class ApplicationError(Exception):
    """An error a user can act on. APIs turn it into {"message", "extra"}; pages show it inline."""

    status_code = 400

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFoundError(ApplicationError):
    status_code = 404


class RefusedError(ApplicationError):
    """The user may not do this now, for a reason they should be told (paused campaign, missing skill...)."""

    status_code = 403


class TooLargeError(ApplicationError):
    """A request body over the size the app reads (DATA_UPLOAD_MAX_MEMORY_SIZE)."""

    status_code = 413


class BusyError(ApplicationError):
    """Too busy to answer right now; `extra["retry_after"]` says in how many seconds to ask again."""

    status_code = 503


# What the database driver raises when the server is restarting, unreachable or gave up on a statement.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


class DatabaseUnavailableError(BusyError):
    """The database did not answer. The request may or may not have been stored: a label retried with the
    same idempotency key is stored once."""

    def __init__(self) -> None:
        super().__init__(
            "The database is unavailable right now (restarting or unreachable); try again in a few seconds.",
            {"retry_after": 2},
        )


def model_validated(instance: models.Model) -> None:
    """`full_clean()`, its first problem raised as an ApplicationError naming the field."""
    try:
        instance.full_clean()
    except ValidationError as invalid:
        field_name, errors = next(iter(invalid.message_dict.items()))
        shown = "" if field_name == "__all__" else f"Field '{field_name}': "
        raise ApplicationError(shown + " ".join(errors), {"field": field_name}) from None
