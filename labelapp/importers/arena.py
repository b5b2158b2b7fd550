"""`arena`: Chatbot Arena battles (lmsys/chatbot_arena_conversations): one user's conversation with two
anonymous models, and which one they voted for.

The turns both conversations share (the first user message, and a system message if any) become the
prompt; each side's last reply becomes an answer of `model_a` or `model_b`, one item, A first. In a
multi-turn battle (`turn` > 1) the sides part after the first user message: each answer keeps its own
earlier turns (its replies and the user messages between them) as its `history`, so the whole conversation
is kept. `winner` (model_a, model_b, tie, tie (bothbad)) becomes the source label, with `judge`, `turn`,
`question_id`, `language`, `anony`, `tstamp`, the moderation tags and any other column beside it.
"""

from collections.abc import Iterable, Iterator

from labelapp.importers.records import SourceRecord
from labelapp.importers.rows import (
    CandidateSpec,
    Fields,
    Group,
    ImportRow,
    PromptSpec,
    messages_checked,
    model_checked,
    prompt_messages_checked,
)

NAME = "arena"
SUMMARY = "Chatbot Arena: model_a / model_b, conversation_a / conversation_b, winner, turn (multi-turn)"
GROUPS = "pairs"
COLUMNS = (("model_a",), ("model_b",), ("conversation_a",), ("conversation_b",), ("winner",))
WINNERS = {"model_a": "a", "model_b": "b", "tie": "tie", "tie (bothbad)": "both_bad"}
READ_FIELDS = frozenset(("conversation_a", "conversation_b", "model_a", "model_b"))


def _shared_length(first: list[dict[str, str]], second: list[dict[str, str]]) -> int:
    shared = 0
    while shared < min(len(first), len(second)) and first[shared] == second[shared]:
        shared += 1
    return shared


def _answer(conversation: list[dict[str, str]], shared: int, fields: Fields, side: str) -> CandidateSpec:
    name = f"conversation_{side}"
    rest = conversation[shared:]
    if not rest or rest[-1]["role"] != "assistant":
        raise fields.error("must end with the model's reply (an assistant message)", name)
    return CandidateSpec(
        text=rest[-1]["content"],
        model=model_checked(fields.raw(f"model_{side}"), fields, f"model_{side}"),
        history=rest[:-1] or None,
    )


def rows(records: Iterable[SourceRecord], *, source: str) -> Iterator[ImportRow]:
    for record in records:
        fields = Fields(record)
        winner = fields.raw("winner")
        if winner not in WINNERS:
            raise fields.error(f"must be one of {', '.join(WINNERS)}", "winner")
        first = messages_checked(fields.structured("conversation_a"), fields, "conversation_a")
        second = messages_checked(fields.structured("conversation_b"), fields, "conversation_b")
        shared = _shared_length(first, second)
        while shared and first[shared - 1]["role"] != "user":  # the prompt ends with what both answer
            shared -= 1
        if not shared:
            raise fields.error("must begin with the same user message as conversation_a", "conversation_b")
        prompt = prompt_messages_checked(first[:shared], fields, "conversation_a")
        yield ImportRow(
            where=record.where,
            prompt=PromptSpec(messages=prompt),
            candidates=(_answer(first, shared, fields, "a"), _answer(second, shared, fields, "b")),
            groups=(
                Group(
                    candidates=(0, 1),
                    preference=WINNERS[winner],
                    raw=fields.others(READ_FIELDS),
                ),
            ),
        )
