"""Prompt files in, prompts out: all or nothing, and every error names file, line and field."""

import csv
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from labelapp.errors import ApplicationError
from labelapp.models import Campaign, Prompt
from labelapp.user_text import TOO_DEEP, json_problem

KNOWN_FIELDS = {"prompt", "messages", "reference_answer", "metadata"}
ROLES = {"system", "user", "assistant"}


@dataclass(frozen=True)
class PromptRow:
    line: int
    text: str = ""
    messages: list[dict[str, str]] | None = None
    reference_answer: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


def _row_error(file_name: str, line: int, message: str, field_name: str | None = None) -> ApplicationError:
    where = f"{file_name}, line {line}" + (f", field '{field_name}'" if field_name else "")
    return ApplicationError(f"{where}: {message}", {"file": file_name, "line": line, "field": field_name})


def _messages_check(messages: Any, file_name: str, line: int) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise _row_error(file_name, line, "must be a non-empty list of {role, content} objects", "messages")
    for position, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or message.get("role") not in ROLES
            or not isinstance(message.get("content"), str)
        ):
            raise _row_error(
                file_name,
                line,
                f"message {position} needs 'role' ({', '.join(sorted(ROLES))}) and a string 'content'",
                "messages",
            )
    if messages[-1]["role"] != "user":
        raise _row_error(file_name, line, "the last message must have role 'user'", "messages")
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def _text_checked(data: Any, file_name: str, line: int, at: str = "") -> None:
    problem = json_problem(data, at=at)
    if problem is not None:
        raise _row_error(file_name, line, problem.reason, problem.field)


def _row_from_record(record: dict[str, Any], file_name: str, line: int) -> PromptRow:
    _text_checked(record, file_name, line)
    text, messages = record.get("prompt"), record.get("messages")
    if (text in (None, "")) == (messages in (None, "")):
        raise _row_error(file_name, line, "exactly one of 'prompt' or 'messages' is required", "prompt")
    if text not in (None, "") and (not isinstance(text, str) or not text.strip()):
        raise _row_error(file_name, line, "must be a non-empty string", "prompt")
    if isinstance(messages, str):  # CSV cells hold messages as JSON
        try:
            messages = json.loads(messages)
        except json.JSONDecodeError as exc:
            raise _row_error(file_name, line, f"not valid JSON ({exc.msg})", "messages") from None
        except RecursionError:
            raise _row_error(file_name, line, TOO_DEEP, "messages") from None
        _text_checked(messages, file_name, line, at="messages")
    reference = record.get("reference_answer") or ""
    if not isinstance(reference, str):
        raise _row_error(file_name, line, "must be a string", "reference_answer")
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise _row_error(file_name, line, "must be an object", "metadata")
    extra = {key: value for key, value in record.items() if key not in KNOWN_FIELDS}
    return PromptRow(
        line=line,
        text=text or "",
        messages=_messages_check(messages, file_name, line) if messages not in (None, "") else None,
        reference_answer=reference,
        metadata={**extra, **metadata},
    )


def _text_lines(file: Iterable[bytes], file_name: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line, decoded one at a time, so an error names its line."""
    for number, raw in enumerate(file, start=1):
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise _row_error(file_name, number, f"not UTF-8 text (byte {exc.start} of the line)") from None
        yield number, text


def _jsonl_rows(file: Iterable[bytes], file_name: str) -> Iterator[PromptRow]:
    for line_number, line in _text_lines(file, file_name):
        line = line.rstrip("\r\n")  # an error in an unterminated string should not be about the newline
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _row_error(
                file_name, line_number, f"not valid JSON ({exc.msg} at column {exc.colno})"
            ) from None
        except RecursionError:
            raise _row_error(file_name, line_number, f"the line {TOO_DEEP}") from None
        if not isinstance(record, dict):
            raise _row_error(file_name, line_number, "each line must be a JSON object")
        yield _row_from_record(record, file_name, line_number)


def _csv_rows(file: Iterable[bytes], file_name: str) -> Iterator[PromptRow]:
    reader = csv.DictReader(text for _, text in _text_lines(file, file_name))
    header = reader.fieldnames or []
    if "prompt" not in header and "messages" not in header:
        raise _row_error(file_name, 1, "the header needs a 'prompt' or 'messages' column", "prompt")
    for record in reader:
        line_number = reader.line_num
        if None in record:
            raise _row_error(file_name, line_number, "more cells than header columns")
        yield _row_from_record({k: v for k, v in record.items() if v != ""}, file_name, line_number)


def _at_least_one(rows: Iterator[PromptRow], file_name: str) -> Iterator[PromptRow]:
    empty = True
    for row in rows:
        empty = False
        yield row
    if empty:
        raise ApplicationError(f"{file_name}: the file has no prompts", {"file": file_name})


def prompt_rows_parse(*, file_name: str, file: Iterable[bytes]) -> Iterator[PromptRow]:
    """The rows of a JSONL (.jsonl, .json) or CSV (.csv) prompt file, read line by line as they are
    consumed; raises on the first bad line (the file type is checked at once)."""
    if file_name.lower().endswith(".csv"):
        rows = _csv_rows(file, file_name)
    elif file_name.lower().endswith((".jsonl", ".json", ".ndjson")):
        rows = _jsonl_rows(file, file_name)
    else:
        raise ApplicationError(f"{file_name}: unknown file type; use .jsonl or .csv", {"file": file_name})
    return _at_least_one(rows, file_name)


IMPORT_BATCH = 1000


@transaction.atomic
def prompt_import(*, campaign: Campaign, rows: Iterable[PromptRow], source: str) -> int:
    """Store the rows in batches as they come, in one transaction: a bad row, however late in the file,
    leaves no prompt behind. Returns how many were imported."""
    imported, remaining = 0, iter(rows)
    while batch := list(itertools.islice(remaining, IMPORT_BATCH)):
        prompts = [_prompt_checked(campaign, row, source) for row in batch]
        imported += len(Prompt.objects.bulk_create(prompts))
    return imported


def _prompt_checked(campaign: Campaign, row: PromptRow, source: str) -> Prompt:
    prompt = Prompt(
        campaign=campaign,
        text=row.text,
        messages=row.messages,
        reference_answer=row.reference_answer,
        metadata=row.metadata,
        source=f"{source}:{row.line}",
    )
    try:
        # The check constraint (text or messages) is the parser's and the database's: checking it here
        # would cost one query per prompt.
        prompt.full_clean(exclude=["campaign"], validate_constraints=False)
    except ValidationError as invalid:
        field_name, errors = next(iter(invalid.message_dict.items()))
        raise _row_error(source, row.line, " ".join(errors), field_name) from None
    return prompt
