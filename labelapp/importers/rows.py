"""What an import format yields for each record, and the checks every format reads its fields with.

A row holds one prompt (text or a conversation), the answers the record carries (candidates), and the
groups of those answers the dataset judged together, with its verdict: a pair and which side it
preferred, or a set and a score per answer. The import service turns groups into items of the campaign's
kind and verdicts into source labels; rows know nothing of the database.

Content keys are sha256 hashes of canonical JSON: a prompt is the same prompt when its text (or messages)
is; an answer is the same answer when its prompt, model, text, params and earlier turns are, and it is
not another sample of the same text in the same record.
"""

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from labelapp.errors import ApplicationError
from labelapp.importers.records import SourceRecord, Where
from labelapp.user_text import TOO_DEEP, json_problem

ROLES = ("system", "user", "assistant")
MODEL_MAX_CHARS = 100  # Generator.name


def content_key(*parts: Any) -> str:
    """sha256 of the parts as canonical JSON (keys sorted, UTF-8): what an import's identity is made of."""
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass  # not frozen: see records.SourceRecord
class PromptSpec:
    """A prompt as an import creates it: plain text, or chat messages ending with a user turn."""

    text: str = ""
    messages: list[dict[str, str]] | None = None
    reference_answer: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    # Frozen in migration 0011 (prompt_content_key), which fills it for prompts imported before. Set when
    # made: functools.cached_property takes a lock on every read (Python 3.11), a million times an import.
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.key = content_key(
            *(("messages", self.messages) if self.messages is not None else ("prompt", self.text))
        )


@dataclass(frozen=True)
class Logprobs:
    token_count: int
    total: float
    mean: float


@dataclass  # not frozen: see records.SourceRecord
class CandidateSpec:
    """An answer: its text, the model that wrote it (a generator of backend `external`), the sampling
    params, its token logprobs when known, and what else the dataset says of it (`metadata`).
    `history`: for a multi-turn Arena battle, this side's own turns between the prompt and its last reply."""

    text: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    logprobs: Logprobs | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, str]] | None = None

    def key(self, prompt_key: str, occurrence: int) -> str:
        """`occurrence` tells apart samples of one text in one record (0 for the first)."""
        return content_key(prompt_key, self.model, self.text, self.params, self.history, occurrence)


PREFERENCES = ("a", "b", "tie", "both_bad")


@dataclass(frozen=True)
class Group:
    """Answers the dataset judged together (indices into the row's candidates), and its verdict.

    A pair has `preference` ("a": the first answer is better, "b", "tie", "both_bad"; None: no verdict);
    a scored set (UltraFeedback) has one score per answer, higher better. `verdict_in_order`: the dataset
    lists the preferred answer first (chosen, rejected), so the pair's canonical order is drawn per item,
    or every verdict would be "a". `raw`: the dataset's fields behind the verdict.
    """

    candidates: tuple[int, ...]
    preference: str | None = None
    scores: tuple[float | None, ...] | None = None
    verdict_in_order: bool = False
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass  # not frozen: see records.SourceRecord
class ImportRow:
    where: Where
    prompt: PromptSpec
    candidates: tuple[CandidateSpec, ...] = ()
    groups: tuple[Group, ...] = ()
    # Each answer's content key; a text repeated by one model with the same params in this record is
    # another sample (the second has occurrence 1), not the same answer.
    candidate_keys: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        seen: dict[tuple[str, str, str], int] = {}
        keys = []
        for answer in self.candidates:
            same = (
                answer.model,
                answer.text,
                orjson.dumps([answer.params, answer.history], option=orjson.OPT_SORT_KEYS).decode(),
            )
            occurrence = seen.get(same, 0)
            seen[same] = occurrence + 1
            keys.append(answer.key(self.prompt.key, occurrence))
        self.candidate_keys = tuple(keys)


class Fields:
    """A record's fields, read with checks that name the file, the line and the field.

    Absent, null and (in CSV) empty values are missing alike. In CSV, where every cell is text, a field
    that holds a list or an object is read as JSON. Every string in the record is checked once, up front
    (valid UTF-8, no NUL, not nested too deep), as every stored text is.
    """

    def __init__(self, record: SourceRecord) -> None:
        self.where = record.where
        self.values = record.fields
        self.cells_are_text = record.cells_are_text
        if not record.checked:
            self._checked(self.values, "")

    def error(self, message: str, name: str | None = None) -> ApplicationError:
        return self.where.error(message, name)

    def _checked(self, value: Any, at: str) -> None:
        problem = json_problem(value, at=at)
        if problem is not None:
            field_name = problem.field if problem.field != "body" else None
            if problem.reason == TOO_DEEP and field_name is None:
                raise self.error(f"the line {TOO_DEEP}")
            raise self.error(problem.reason, field_name)

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def raw(self, name: str) -> Any:
        value = self.values.get(name)
        return None if value == "" else value

    def structured(self, name: str) -> Any:
        """A list or object; in CSV, the cell's JSON. None when missing."""
        value = self.raw(name)
        if self.cells_are_text and isinstance(value, str):
            value = self._json_cell(name, value)
        return value

    def _json_cell(self, name: str, text: str) -> Any:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self.error(f"not valid JSON ({exc.msg} at column {exc.colno})", name) from None
        except RecursionError:
            raise self.error(TOO_DEEP, name) from None
        self._checked(value, name)
        return value

    def text_or_conversation(self, name: str) -> Any:
        """A text or a list of messages, as read. In CSV a cell holding a JSON list of objects is a
        conversation, and any other cell is text."""
        value = self.raw(name)
        if self.cells_are_text and isinstance(value, str) and value.lstrip().startswith("["):
            try:
                decoded = json.loads(value)
            except (json.JSONDecodeError, RecursionError):
                return value
            if isinstance(decoded, list) and decoded and all(isinstance(item, dict) for item in decoded):
                self._checked(decoded, name)
                return decoded
        return value

    def text(self, name: str, *, required: bool = True, blank: bool = False) -> str:
        """A string; `blank` allows an empty or all-space one (an answer may say nothing)."""
        value = self.raw(name)
        if value is None:
            if required and not blank:
                raise self.error("is required", name)
            return ""
        if not isinstance(value, str):
            raise self.error("must be a string", name)
        if not blank and not value.strip():
            raise self.error("must be a non-empty string", name)
        return value

    def number(self, name: str) -> float | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, str) and self.cells_are_text:
            try:
                value = float(value)
            except ValueError:
                raise self.error(f"must be a number, not '{value}'", name) from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error("must be a number", name)
        return float(value)

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.structured(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error("must be an object", name)
        return value

    def listing(self, name: str, *, required: bool = True) -> list[Any]:
        value = self.structured(name)
        if value is None:
            if required:
                raise self.error("is required", name)
            return []
        if not isinstance(value, list):
            raise self.error("must be a list", name)
        return value

    def messages(self, name: str) -> list[dict[str, str]]:
        """A conversation: {role, content} messages, roles system, user, assistant."""
        return messages_checked(self.structured(name), self, name)

    def others(self, known: frozenset[str]) -> dict[str, Any]:
        """The record's other fields (kept as metadata), missing values left out; CSV cells as text."""
        return {key: value for key, value in self.values.items() if key not in known and value is not None}


def messages_checked(value: Any, fields: Fields, name: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise fields.error("must be a non-empty list of {role, content} objects", name)
    for position, message in enumerate(value):
        if (
            not isinstance(message, dict)
            or message.get("role") not in ROLES
            or not isinstance(message.get("content"), str)
        ):
            raise fields.error(
                f"message {position} needs 'role' ({', '.join(sorted(ROLES))}) and a string 'content'", name
            )
    return [{"role": message["role"], "content": message["content"]} for message in value]


def prompt_messages_checked(
    messages: list[dict[str, str]], fields: Fields, name: str
) -> list[dict[str, str]]:
    """A prompt conversation: an optional system message, then user and assistant turns in turn, the last
    a user turn (the one the answers reply to)."""
    if messages[-1]["role"] != "user":
        raise fields.error("the last message must have role 'user'", name)
    turns = messages[1:] if messages[0]["role"] == "system" else messages
    offset = len(messages) - len(turns)
    for position, message in enumerate(turns):
        expected = "user" if position % 2 == 0 else "assistant"
        if message["role"] != expected:
            raise fields.error(
                f"message {position + offset} must have role '{expected}': after an optional system "
                "message, user and assistant turns alternate",
                name,
            )
    return messages


def model_checked(model: Any, fields: Fields, name: str) -> str:
    if not isinstance(model, str) or not model.strip():
        raise fields.error("must name the model (a non-empty string)", name)
    if len(model) > MODEL_MAX_CHARS:
        raise fields.error(f"is longer than {MODEL_MAX_CHARS} characters", name)
    return model.strip()


def logprobs_checked(value: Any, fields: Fields, name: str) -> Logprobs | None:
    """Token logprobs, as numbers or as {"token", "logprob"} objects (OpenAI's shape): their count, sum
    and mean are stored, as for generated answers (the calibration report reads the mean)."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise fields.error("must be a non-empty list of token logprobs", name)
    numbers = []
    for position, entry in enumerate(value):
        number = entry.get("logprob") if isinstance(entry, dict) else entry
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            raise fields.error(
                f"token {position} needs a number (or an object with a number 'logprob')", name
            )
        if number > 0:
            raise fields.error(f"token {position} has logprob {number}; a log probability is at most 0", name)
        numbers.append(float(number))
    total = math.fsum(numbers)
    return Logprobs(token_count=len(numbers), total=total, mean=total / len(numbers))


def rows_checked(rows: Iterator[ImportRow], file_name: str) -> Iterator[ImportRow]:
    """The rows, refusing a file that holds none once it has been read to its end."""
    empty = True
    for row in rows:
        empty = False
        yield row
    if empty:
        raise ApplicationError(f"{file_name}: the file has no rows", {"file": file_name})


def columns_check(columns: Sequence[str] | None, needed: Sequence[Sequence[str]], file_name: str) -> None:
    """A CSV header or a Parquet/Arrow schema must hold one of each group of column names."""
    if columns is None:
        return
    for names in needed:
        if not set(names) & set(columns):
            wanted = " or ".join(f"'{name}'" for name in names)
            raise Where(file_name, 1).error(f"the header needs a {wanted} column", names[0])


def origin_text(where: Where, max_chars: int = 300) -> str:
    """`file:line`, the file name cut from the left to fit a column of `max_chars`."""
    origin = where.origin
    return origin if len(origin) <= max_chars else "…" + origin[-(max_chars - 1) :]
