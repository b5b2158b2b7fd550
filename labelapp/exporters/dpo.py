"""TRL's preference format with an explicit prompt: prompt, chosen, rejected.

Plain-text prompts give strings; chat prompts give the conversational form (message lists), as
`trl.data_utils.is_conversational` expects. Items whose majority is a tie, both bad, or split are left out.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from labelapp.exporters.records import PairwiseRecord


def _side(record: PairwiseRecord, index: int) -> str | list[dict[str, str]]:
    text = record.candidates[index].text
    if record.prompt_messages is None:
        return text
    return [{"role": "assistant", "content": text}]


def rows(records: Iterable[PairwiseRecord]) -> Iterator[dict[str, Any]]:
    for record in records:
        choice = record.aggregate.choice
        if choice not in {"a", "b"}:
            continue
        chosen, rejected = (0, 1) if choice == "a" else (1, 0)
        yield {
            "id": f"{record.campaign}-{record.item_id}",
            "prompt": record.prompt_messages if record.prompt_messages is not None else record.prompt_text,
            "chosen": _side(record, chosen),
            "rejected": _side(record, rejected),
            "chosen_generator": record.generator_names[chosen],
            "rejected_generator": record.generator_names[rejected],
            "chosen_candidate_id": record.candidates[chosen].pk,
            "rejected_candidate_id": record.candidates[rejected].pk,
            "strength": record.aggregate.strength,
            "agreement": round(record.aggregate.agreement, 4),
            "label_count": record.aggregate.label_count,
        }
