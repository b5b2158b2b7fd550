"""`hh-rlhf`: Anthropic's HH-RLHF, `chosen` and `rejected` transcripts of "\\n\\nHuman: …\\n\\nAssistant: …"
turns (Anthropic/hh-rlhf).

Both transcripts share every turn but their last Assistant turn: that history becomes the prompt, a
conversation (Human turns are user messages), and the two last Assistant turns become the two answers,
one item. That `chosen` was preferred becomes its source label. Other columns are kept with it.
"""

import re
from collections.abc import Iterable, Iterator

from labelapp.importers.records import SourceRecord
from labelapp.importers.rows import (
    CandidateSpec,
    Fields,
    Group,
    ImportRow,
    PromptSpec,
    prompt_messages_checked,
)

NAME = "hh-rlhf"
SUMMARY = 'Anthropic HH-RLHF: chosen / rejected transcripts of "\\n\\nHuman: …\\n\\nAssistant: …" turns'
GROUPS = "pairs"
COLUMNS = (("chosen",), ("rejected",))
PAIR_FIELDS = frozenset(("chosen", "rejected"))
TURN = re.compile(r"\n\n(Human|Assistant):")
ROLE = {"Human": "user", "Assistant": "assistant"}


def transcript_turns(text: str, fields: Fields, name: str) -> list[dict[str, str]]:
    """The transcript's turns as messages; the space after "Human:" or "Assistant:" is not content."""
    if text.startswith(("Human:", "Assistant:")):
        text = "\n\n" + text
    parts = TURN.split(text)
    if parts[0].strip() or len(parts) < 3:
        raise fields.error('must be a transcript of "\\n\\nHuman: …" and "\\n\\nAssistant: …" turns', name)
    turns = [
        {"role": ROLE[role], "content": content.removeprefix(" ")}
        for role, content in zip(parts[1::2], parts[2::2], strict=True)
    ]
    if turns[-1]["role"] != "assistant":
        raise fields.error("must end with an Assistant turn, the answer compared", name)
    return turns


def _history(
    chosen: list[dict[str, str]], rejected: list[dict[str, str]], fields: Fields
) -> list[dict[str, str]]:
    if chosen[:-1] != rejected[:-1]:
        turn = next(
            (n for n, (a, b) in enumerate(zip(chosen[:-1], rejected[:-1], strict=False)) if a != b),
            min(len(chosen), len(rejected)) - 1,
        )
        raise fields.error(
            f"chosen and rejected must differ only in their last Assistant turn; they differ at turn {turn + 1}",
            "rejected",
        )
    return prompt_messages_checked(chosen[:-1], fields, "chosen")


def rows(records: Iterable[SourceRecord], *, source: str) -> Iterator[ImportRow]:
    for record in records:
        fields = Fields(record)
        chosen = transcript_turns(fields.text("chosen"), fields, "chosen")
        rejected = transcript_turns(fields.text("rejected"), fields, "rejected")
        if len(chosen) < 2:
            raise fields.error("needs a Human turn before the Assistant's answer", "chosen")
        history = _history(chosen, rejected, fields)
        yield ImportRow(
            where=record.where,
            prompt=PromptSpec(messages=history),
            candidates=(
                CandidateSpec(text=chosen[-1]["content"], model=source),
                CandidateSpec(text=rejected[-1]["content"], model=source),
            ),
            groups=(
                Group(
                    candidates=(0, 1),
                    preference="a",
                    verdict_in_order=True,
                    raw=fields.others(PAIR_FIELDS),
                ),
            ),
        )
