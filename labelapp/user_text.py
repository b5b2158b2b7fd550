"""Text a user may send: valid UTF-8 and no NUL character, or refused naming the field.

JSON escapes let a client send a lone surrogate ("\\ud800"), which no UTF-8 writer accepts: stored, it
breaks every page and export that shows it. PostgreSQL's text and jsonb refuse NUL, which SQLite would
store: refusing it everywhere keeps both databases alike. Form posts cannot carry a surrogate (Django
decodes them with replacement characters) but can carry NUL (%00).
"""

from dataclasses import dataclass
from typing import Any

from labelapp.errors import ApplicationError

# JSON a user sends is a few levels deep (a label: body, value, criteria or groups); anything much deeper
# is refused before code that recurses over it (json, serializers, templates) runs out of stack.
MAX_DEPTH = 32
TOO_DEEP = f"is nested deeper than {MAX_DEPTH} levels"


def text_problem(text: str) -> str | None:
    """Why this text may not be stored, or None when it may."""
    if "\x00" in text:
        return "holds a NUL character (\\u0000), which text may not contain"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as bad:
            return f"holds a lone surrogate (\\u{ord(text[bad.start]):04x}), which is not valid UTF-8"
    return None


def text_check(text: str, *, field: str) -> str:
    """The text, or ApplicationError naming the field and what is wrong with it."""
    problem = text_problem(text)
    if problem is not None:
        raise ApplicationError(f"Field '{field}' {problem}.", {"field": field})
    return text


@dataclass(frozen=True)
class JsonProblem:
    field: str  # the path to the bad string, e.g. "value.critique" or "messages[0].content"
    reason: str

    def error(self) -> ApplicationError:
        return ApplicationError(f"Field '{self.field}' {self.reason}.", {"field": self.field})


def json_problem(data: Any, *, at: str = "") -> JsonProblem | None:
    """Where parsed JSON holds a string (key or value) that may not be stored, or a container nested deeper
    than MAX_DEPTH, and why; None when all is well. `at` names `data` itself in the path."""
    pending: list[tuple[Any, str, int]] = [(data, at, 1)]
    while pending:
        value, path, depth = pending.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem is not None:
                return JsonProblem(path or "body", problem)
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                return JsonProblem(path or "body", TOO_DEEP)
            children = []
            for key, child in value.items() if isinstance(value, dict) else enumerate(value):
                if isinstance(key, str):
                    problem = text_problem(key)
                    if problem is not None:
                        return JsonProblem(path or "body", f"has a key that {problem}")
                    children.append((child, f"{path}.{key}" if path else key, depth + 1))
                else:
                    children.append((child, f"{path}[{key}]", depth + 1))
            pending.extend(reversed(children))
    return None


def json_check(data: Any, *, at: str = "") -> Any:
    """The parsed JSON, or ApplicationError naming the path to what is wrong in it (see json_problem)."""
    problem = json_problem(data, at=at)
    if problem is not None:
        raise problem.error()
    return data
