"""Preference pairs from pairwise records: what dpo, rm and hh-rlhf rows are made of.

A pair is an item whose majority chose A or B. Items whose majority is a tie become rows only with
--include-ties, flagged `tie: true` (chosen and rejected are then just A and B, not a preference);
a tie is never turned into two opposite pairs. Both-bad majorities and split votes are never pairs.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from labelapp.exporters import columns
from labelapp.exporters.format import ExportContext
from labelapp.exporters.records import CandidateFacts, Record
from labelapp.kinds import pairwise


@dataclass(frozen=True, slots=True)
class Pair:
    record: Record
    chosen: CandidateFacts
    rejected: CandidateFacts
    tie: bool

    @property
    def group(self) -> str:
        return self.record.item.prompt.key


def preference_pairs(context: ExportContext) -> Iterator[Pair]:
    for record in context.records(pairwise.NAME):
        choice = record.aggregate.choice
        first, second = record.item.candidates
        if choice == "a":
            yield Pair(record, first, second, tie=False)
        elif choice == "b":
            yield Pair(record, second, first, tie=False)
        elif choice == "tie" and context.options.include_ties:
            yield Pair(record, first, second, tie=True)


METADATA_COLUMNS = {
    "prompt_id": columns.INT,
    "item_id": columns.INT,
    "chosen_candidate_id": columns.INT,
    "rejected_candidate_id": columns.INT,
    "chosen_generator": columns.STRING,
    "rejected_generator": columns.STRING,
    "chosen_params": columns.PARAMS,
    "rejected_params": columns.PARAMS,
    "strength": columns.STRING,
    "agreement": columns.FLOAT,
    "label_count": columns.INT,
    "tie": columns.BOOL,
}


def pair_metadata(pair: Pair) -> dict[str, Any]:
    record = pair.record
    return {
        "prompt_id": record.item.prompt.id,
        "item_id": record.item.id,
        "chosen_candidate_id": pair.chosen.id,
        "rejected_candidate_id": pair.rejected.id,
        "chosen_generator": pair.chosen.generator,
        "rejected_generator": pair.rejected.generator,
        "chosen_params": pair.chosen.params,
        "rejected_params": pair.rejected.params,
        "strength": record.aggregate.strength,
        "agreement": round(record.agreement, 4),
        "label_count": len(record.item.labels),
        "tie": pair.tie,
    }


def pair_id(pair: Pair) -> str:
    return f"{pair.record.campaign}-{pair.record.item.id}"


def pair_label(values: dict[str, Any]) -> str:
    if values["tie"]:
        return "tie"
    return f"chosen ({values['strength']})" if values["strength"] else "chosen (no strength given)"


def as_assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]
