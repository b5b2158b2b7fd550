"""`trl-preference`: TRL's preference datasets, `prompt` / `chosen` / `rejected`.

Standard (texts) or conversational (lists of {role, content} messages), with an explicit prompt or an
implicit one inside `chosen` and `rejected`. An implicit prompt is found as TRL finds it
(`trl.data_utils.maybe_extract_prompt`, then `extract_prompt`): the longest shared beginning of `chosen`
and `rejected`, characters or messages, a space before the point they part going with the answers. After
it, a conversational answer must be one assistant message. Each pair becomes one item; that `chosen` was
preferred becomes its source label. Other columns (scores, ids) are kept with the source label.
"""

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from labelapp.importers.records import SourceRecord
from labelapp.importers.rows import (
    CandidateSpec,
    Fields,
    Group,
    ImportRow,
    PromptSpec,
    messages_checked,
    prompt_messages_checked,
)

NAME = "trl-preference"
SUMMARY = (
    "TRL's prompt / chosen / rejected, standard or conversational, implicit prompt extracted as TRL does"
)
GROUPS = "pairs"
COLUMNS = (("chosen",), ("rejected",))
PAIR_FIELDS = frozenset(("prompt", "chosen", "rejected"))


def is_conversational(value: Any) -> bool:
    """TRL's `is_conversational` for one column's value: a list whose first item is a message."""
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict) and "role" in value[0]


def extract_prompt(chosen: Sequence[Any], rejected: Sequence[Any]) -> tuple[Any, Any, Any]:
    """TRL's `extract_prompt`, step for step: (prompt, chosen, rejected). Where the two never part, TRL's
    loop ends one short of the shorter; callers refuse what is not a real shared prompt."""
    index = 0
    for index in range(min(len(chosen), len(rejected))):  # noqa: B007  # TRL reads the loop variable after
        if chosen[index] != rejected[index]:
            if chosen[index - 1] == " ":  # the space before the answers goes with them
                index -= 1
            break
    return chosen[:index], chosen[index:], rejected[index:]


def maybe_extract_prompt(example: dict[str, Any]) -> dict[str, Any]:
    """TRL's `maybe_extract_prompt`: an explicit prompt is kept when it is conversational exactly when
    `chosen` is; otherwise the prompt is extracted from `chosen` and `rejected`."""
    if "prompt" in example and is_conversational(example["chosen"]) == is_conversational(example["prompt"]):
        return example
    prompt, chosen, rejected = extract_prompt(example["chosen"], example["rejected"])
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


def _completion_text(value: Any, fields: Fields, name: str, conversational: bool) -> str:
    if not conversational:
        if not isinstance(value, str):
            raise fields.error("must be a string, as the prompt is", name)
        return value
    messages = messages_checked(value, fields, name)
    if len(messages) != 1 or messages[0]["role"] != "assistant":
        raise fields.error(
            f"after the prompt must be one assistant message, not {len(messages)} message(s) "
            f"({', '.join(m['role'] for m in messages)})",
            name,
        )
    return messages[0]["content"]


def _example(fields: Fields) -> dict[str, Any]:
    example = {name: fields.text_or_conversation(name) for name in ("chosen", "rejected")}
    for name, value in example.items():
        if value is None:
            raise fields.error("is required", name)
        if not isinstance(value, str | list):
            raise fields.error("must be a string or a list of messages", name)
        if isinstance(value, list) and not is_conversational(value):
            messages_checked(value, fields, name)  # names what is wrong with the messages
    if fields.has("prompt"):
        example["prompt"] = fields.text_or_conversation("prompt")
    return example


def _begins_with(value: Any, prefix: Any) -> bool:
    return type(value) is type(prefix) and value[: len(prefix)] == prefix


def _prompt(example: dict[str, Any], original: dict[str, Any], fields: Fields) -> PromptSpec:
    prompt = example["prompt"]
    extracted = example is not original
    name = "chosen" if extracted else "prompt"
    if extracted and not (
        prompt and _begins_with(original["chosen"], prompt) and _begins_with(original["rejected"], prompt)
    ):
        raise fields.error("chosen and rejected share no prompt (TRL's extract_prompt finds none)", name)
    if isinstance(prompt, list):
        messages = messages_checked(prompt, fields, name)
        return PromptSpec(messages=prompt_messages_checked(messages, fields, name))
    if not isinstance(prompt, str) or not prompt.strip():
        raise fields.error("must be a non-empty string or a list of messages", name)
    return PromptSpec(text=prompt)


def rows(records: Iterable[SourceRecord], *, source: str) -> Iterator[ImportRow]:
    for record in records:
        fields = Fields(record)
        original = _example(fields)
        example = maybe_extract_prompt(original)
        prompt = _prompt(example, original, fields)
        conversational = prompt.messages is not None
        answers = tuple(
            CandidateSpec(text=_completion_text(example[name], fields, name, conversational), model=source)
            for name in ("chosen", "rejected")
        )
        group = Group(
            candidates=(0, 1),
            preference="a",
            verdict_in_order=True,
            raw=fields.others(PAIR_FIELDS),
        )
        yield ImportRow(where=record.where, prompt=prompt, candidates=answers, groups=(group,))
