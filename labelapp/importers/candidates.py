"""`candidates`: prompts and the answers models gave them, from any source, to judge beside generated ones.

A row has `prompt` (text) or `messages` (optional system message, then user and assistant turns in turn,
the last a user turn), optionally `reference_answer` and `metadata` (an object); other columns go into the
prompt's metadata too. Its answers: one (`response` and `model`, optionally `params` and `logprobs`), or
several (`responses`: a list of {"text", "model", optional "params", "logprobs", "metadata"}), or none (the
row imports its prompt only, as `import_prompts` does). Rows with the same prompt share one prompt, whose
reference answer and metadata come from its first row. The answers become candidates, not items:
`build_items` groups them, with generated ones, as the campaign's kind needs.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from labelapp.importers.records import SourceRecord
from labelapp.importers.rows import (
    CandidateSpec,
    Fields,
    ImportRow,
    PromptSpec,
    logprobs_checked,
    model_checked,
    prompt_messages_checked,
)

NAME = "candidates"
SUMMARY = "prompt or messages, and response + model or responses [{text, model, params, logprobs, metadata}]"
GROUPS = None  # answers only: build_items makes the items
COLUMNS = (("prompt", "messages"),)
PROMPT_FIELDS = ("prompt", "messages", "reference_answer", "metadata")
ANSWER_FIELDS = ("response", "model", "params", "logprobs", "responses")
RESPONSE_FIELDS = ("text", "model", "params", "logprobs", "metadata")
ROW_FIELDS = frozenset((*PROMPT_FIELDS, *ANSWER_FIELDS))


def prompt_read(fields: Fields) -> PromptSpec:
    """The row's prompt: exactly one of `prompt` and `messages`, as `import_prompts` has always read it."""
    if fields.has("prompt") == fields.has("messages"):
        raise fields.error("exactly one of 'prompt' or 'messages' is required", "prompt")
    text, messages = "", None
    if fields.has("prompt"):
        text = fields.text("prompt")
    else:
        messages = prompt_messages_checked(fields.messages("messages"), fields, "messages")
    return PromptSpec(
        text=text,
        messages=messages,
        reference_answer=fields.text("reference_answer", required=False, blank=True),
        metadata={**fields.others(ROW_FIELDS), **fields.mapping("metadata")},
    )


def _params(value: Any, fields: Fields, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fields.error('must be an object of sampling params, e.g. {"temperature": 0.7}', name)
    return value


def _one_answer(fields: Fields) -> CandidateSpec:
    if not fields.has("model"):
        raise fields.error("is required with 'response': the model that wrote it", "model")
    return CandidateSpec(
        text=fields.text("response", blank=True),
        model=model_checked(fields.raw("model"), fields, "model"),
        params=_params(fields.structured("params"), fields, "params"),
        logprobs=logprobs_checked(fields.structured("logprobs"), fields, "logprobs"),
    )


def _listed_answer(entry: Any, fields: Fields, at: str) -> CandidateSpec:
    if not isinstance(entry, dict):
        raise fields.error("must be an object with 'text' and 'model'", at)
    unknown = sorted(set(entry) - set(RESPONSE_FIELDS))
    if unknown:
        raise fields.error(
            f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(RESPONSE_FIELDS)}", at
        )
    if not isinstance(entry.get("text"), str):
        raise fields.error("must be a string", f"{at}.text")
    metadata = entry.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise fields.error("must be an object", f"{at}.metadata")
    return CandidateSpec(
        text=entry["text"],
        model=model_checked(entry.get("model"), fields, f"{at}.model"),
        params=_params(entry.get("params"), fields, f"{at}.params"),
        logprobs=logprobs_checked(entry.get("logprobs"), fields, f"{at}.logprobs"),
        metadata=metadata,
    )


def _answers(fields: Fields) -> tuple[CandidateSpec, ...]:
    if fields.has("responses"):
        if fields.has("response"):
            raise fields.error("give one answer ('response') or several ('responses'), not both", "responses")
        listed = fields.listing("responses")
        return tuple(_listed_answer(entry, fields, f"responses[{n}]") for n, entry in enumerate(listed))
    if fields.values.get("response") is not None:  # "" is an answer that says nothing
        return (_one_answer(fields),)
    for name in ("model", "params", "logprobs"):
        if fields.has(name):
            raise fields.error("belongs to an answer: add 'response'", name)
    return ()


def rows(records: Iterable[SourceRecord], *, source: str) -> Iterator[ImportRow]:
    for record in records:
        fields = Fields(record)
        yield ImportRow(where=record.where, prompt=prompt_read(fields), candidates=_answers(fields))
