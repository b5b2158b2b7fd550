"""The API's request parsers (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES).

Apart from apis.py: DRF reads the parser classes while rest_framework.views is still being imported.
"""

from typing import Any

from rest_framework.parsers import JSONParser

from labelapp.errors import ApplicationError
from labelapp.user_text import TOO_DEEP, json_check


class UserJSONParser(JSONParser):
    """DRF's JSON parser, refusing with a 400 what would break later: nesting too deep for Python's parser
    (a RecursionError) and strings that are not valid UTF-8 (a lone surrogate sent as "\\ud800") or hold
    NUL, naming the field. Form posts need no such parser: Django decodes them with replacement characters,
    DRF's CharField refuses NUL, and a JSON value inside a form is checked by apis.JsonValueField."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ApplicationError(f"The request body {TOO_DEEP}.", {"field": "body"}) from None
        return json_check(data)
