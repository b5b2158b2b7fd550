"""`shp`: Stanford Human Preferences (stanfordnlp/SHP): two Reddit comments on one post, the one with more
upvotes preferred.

The post (`history`) becomes the prompt, with `post_id` and `domain` as its metadata; `human_ref_A` and
`human_ref_B` become two answers (with their comment id, time and score), one item, A first. `labels`
(1: A preferred, 0: B) becomes its source label, with every other column kept beside it: `score_A`,
`score_B`, `upvote_ratio`, `seconds_difference`, `score_ratio`, the comment ids and times, and any more.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from labelapp.importers.records import SourceRecord
from labelapp.importers.rows import CandidateSpec, Fields, Group, ImportRow, PromptSpec

NAME = "shp"
SUMMARY = "Stanford SHP: history, human_ref_A / human_ref_B, labels (1: A preferred), scores kept"
GROUPS = "pairs"
COLUMNS = (("history",), ("human_ref_A",), ("human_ref_B",), ("labels",))
PROMPT_FIELDS = ("post_id", "domain")
NUMBERS = (
    "upvote_ratio",
    "score_A",
    "score_B",
    "created_at_utc_A",
    "created_at_utc_B",
    "seconds_difference",
    "score_ratio",
)
LABELS = {1: "a", 0: "b"}
READ_FIELDS = frozenset(("history", "human_ref_A", "human_ref_B", *PROMPT_FIELDS))


def _numbers(fields: Fields) -> dict[str, Any]:
    """The published numeric columns as numbers (CSV holds them as text); absent ones left out."""
    return {name: number for name in NUMBERS if (number := fields.number(name)) is not None}


def _preference(fields: Fields) -> str:
    label = fields.number("labels")
    if label not in LABELS:
        raise fields.error("must be 1 (A preferred) or 0 (B preferred)", "labels")
    return LABELS[int(label)]


def _answer(fields: Fields, side: str, numbers: dict[str, Any], source: str) -> CandidateSpec:
    metadata = {
        "c_root_id": fields.raw(f"c_root_id_{side}"),
        "created_at_utc": numbers.get(f"created_at_utc_{side}"),
        "score": numbers.get(f"score_{side}"),
    }
    return CandidateSpec(
        text=fields.text(f"human_ref_{side}", blank=True),
        model=source,
        metadata={key: value for key, value in metadata.items() if value is not None},
    )


def rows(records: Iterable[SourceRecord], *, source: str) -> Iterator[ImportRow]:
    for record in records:
        fields = Fields(record)
        numbers = _numbers(fields)
        preference = _preference(fields)
        prompt = PromptSpec(
            text=fields.text("history"),
            metadata={name: fields.raw(name) for name in PROMPT_FIELDS if fields.has(name)},
        )
        raw = {**fields.others(READ_FIELDS), **numbers}
        raw["labels"] = 1 if preference == "a" else 0
        yield ImportRow(
            where=record.where,
            prompt=prompt,
            candidates=(_answer(fields, "A", numbers, source), _answer(fields, "B", numbers, source)),
            groups=(Group(candidates=(0, 1), preference=preference, raw=raw),),
        )
