"""Additions to the generated OpenAPI schema (drf-spectacular postprocessing hooks)."""

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error answer: a message a person can act on, and details such as the field.",
    "properties": {"message": {"type": "string"}, "extra": {"type": "object", "additionalProperties": True}},
    "required": ["message", "extra"],
}
ERROR_RESPONSES = {
    "400": "Invalid input; `extra.field` or `extra.fields` names what is wrong.",
    "401": "No credentials, or a token that does not exist.",
    "403": "Not allowed: not a labeller (or not staff), or refused, saying why (campaign paused, suspended).",
    "429": "Too many requests from this user (API_RATE_USER); `Retry-After` says when to try again.",
    "503": "The database is unavailable (restarting, unreachable) or, for a next item, the items left are "
    "locked by others being served; `Retry-After` says when to try again.",
}
NOT_FOUND = "No such campaign open to you, or no such item leased to you."
TOO_LARGE = (
    "The request body is over DATA_UPLOAD_MAX_MEMORY_SIZE bytes (an import's upload: over "
    "LABELAPP_IMPORT_UPLOAD_MAX_BYTES); `extra.max_bytes` says how many."
)


def error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Document the error envelope ({"message", "extra"}) on every operation, as the API answers it."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            answers = dict(ERROR_RESPONSES)
            if "{" in path:
                answers["404"] = NOT_FOUND
            if "requestBody" in operation:
                answers["413"] = TOO_LARGE
            for status, description in answers.items():
                operation["responses"].setdefault(status, {"description": description, "content": reference})
    return result
