"""Prompt files in, prompts out: all or nothing, and every error names file, line and field."""

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from labelapp.errors import ApplicationError
from labelapp.models import Campaign, Prompt

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


def _row_from_record(record: dict[str, Any], file_name: str, line: int) -> PromptRow:
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


def _jsonl_rows(content: str, file_name: str) -> list[PromptRow]:
    rows = []
    for line_number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _row_error(
                file_name, line_number, f"not valid JSON ({exc.msg} at column {exc.colno})"
            ) from None
        if not isinstance(record, dict):
            raise _row_error(file_name, line_number, "each line must be a JSON object")
        rows.append(_row_from_record(record, file_name, line_number))
    return rows


def _csv_rows(content: str, file_name: str) -> list[PromptRow]:
    reader = csv.DictReader(io.StringIO(content))
    header = reader.fieldnames or []
    if "prompt" not in header and "messages" not in header:
        raise _row_error(file_name, 1, "the header needs a 'prompt' or 'messages' column", "prompt")
    rows = []
    for record in reader:
        line_number = reader.line_num
        if None in record:
            raise _row_error(file_name, line_number, "more cells than header columns")
        rows.append(_row_from_record({k: v for k, v in record.items() if v != ""}, file_name, line_number))
    return rows


def prompt_rows_parse(*, file_name: str, content: bytes) -> list[PromptRow]:
    """Parse a JSONL (.jsonl, .json) or CSV (.csv) prompt file; raise on the first bad line."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(
            f"{file_name}: not UTF-8 text (byte {exc.start})", {"file": file_name}
        ) from None
    if file_name.lower().endswith(".csv"):
        rows = _csv_rows(text, file_name)
    elif file_name.lower().endswith((".jsonl", ".json", ".ndjson")):
        rows = _jsonl_rows(text, file_name)
    else:
        raise ApplicationError(f"{file_name}: unknown file type; use .jsonl or .csv", {"file": file_name})
    if not rows:
        raise ApplicationError(f"{file_name}: the file has no prompts", {"file": file_name})
    return rows


@transaction.atomic
def prompt_import(*, campaign: Campaign, rows: list[PromptRow], source: str) -> list[Prompt]:
    prompts = [
        Prompt(
            campaign=campaign,
            text=row.text,
            messages=row.messages,
            reference_answer=row.reference_answer,
            metadata=row.metadata,
            source=f"{source}:{row.line}",
        )
        for row in rows
    ]
    for prompt in prompts:
        prompt.full_clean(exclude=["campaign"])
    return Prompt.objects.bulk_create(prompts, batch_size=1000)
