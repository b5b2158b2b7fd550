"""`kto`: TRL's unpaired preference format: prompt, completion, label (true: desirable).

Rows come from the label source the export names (`kto_from`, e.g. --kto-from-pairwise), which must be
the campaign's task kind; each source is one function in SOURCES turning that kind's records into judged
completions:
- pairwise: a pair's winner is desirable and its loser undesirable; a both-bad majority makes both
  undesirable; ties and split votes say nothing about either answer and give no row. A candidate judged
  in several items gives one row per item (as TRL's `unpair_preference_dataset` does).
- correctness: an answer whose majority verdict is correct is desirable, incorrect undesirable; can't
  tell and split verdicts give no row.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from labelapp.errors import ApplicationError
from labelapp.exporters import columns, pairs
from labelapp.exporters.format import CandidateFacts, Format, Record, Row, RowOptions
from labelapp.exporters.options import ExportOptions
from labelapp.kinds import correctness, pairwise


@dataclass(frozen=True, slots=True)
class Judged:
    record: Record
    candidate: CandidateFacts
    desirable: bool


def _from_pairwise(records: Iterator[Record]) -> Iterator[Judged]:
    for record in records:
        first, second = record.item.candidates
        choice = record.aggregate.choice
        if choice in {"a", "b"}:
            winner, loser = (first, second) if choice == "a" else (second, first)
            yield Judged(record, winner, True)
            yield Judged(record, loser, False)
        elif choice == "both_bad":
            yield Judged(record, first, False)
            yield Judged(record, second, False)


VERDICT_LABELS = {"correct": True, "incorrect": False}


def _from_correctness(records: Iterator[Record]) -> Iterator[Judged]:
    for record in records:
        desirable = VERDICT_LABELS.get(record.aggregate.verdict)
        if desirable is not None:
            yield Judged(record, record.item.candidates[0], desirable)


SOURCES: dict[str, Callable[[Iterator[Record]], Iterator[Judged]]] = {
    pairwise.NAME: _from_pairwise,
    correctness.NAME: _from_correctness,
}


def check(options: ExportOptions, kind: str) -> None:
    if not options.kto_from:
        raise ApplicationError(
            "The kto format needs a label source: --kto-from-pairwise (pairwise winners as desirable, "
            "losers as undesirable) or --kto-from-correctness (correct answers desirable, incorrect not).",
            {"field": "kto_from"},
        )
    other = [source for source in options.kto_from if source != kind]
    if other:
        flags = ", ".join(f"--kto-from-{source}" for source in other)
        fitting = f"use --kto-from-{kind}" if kind in SOURCES else "no kto source reads its labels"
        raise ApplicationError(
            f"{flags} reads {', '.join(other)} labels, but this is a {kind} campaign ({fitting}).",
            {"field": "kto_from"},
        )


def rows(records: Iterator[Record], options: RowOptions) -> Iterator[Row]:
    conversational, source = options.shape.conversational, options.shape.kind  # `check`: kto_from is the kind
    for judged in SOURCES[source](records):
        item = judged.record.item
        yield Row(
            item.prompt.key,
            {
                "id": f"{judged.record.campaign}-{item.id}-{judged.candidate.id}",
                "prompt": item.prompt.content_in(conversational),
                "completion": pairs.answer_in(judged.candidate.text, conversational),
                "label": judged.desirable,
                "prompt_id": item.prompt.id,
                "item_id": item.id,
                "candidate_id": judged.candidate.id,
                "generator": judged.candidate.generator,
                "params": judged.candidate.params,
                "source": source,
                "agreement": round(judged.record.agreement, 4),
                "label_count": len(item.labels),
            },
        )


FORMAT = Format(
    name="kto",
    summary="TRL unpaired preference (prompt, completion, label), for KTOTrainer",
    columns={
        "id": columns.STRING,
        "prompt": columns.TEXT_OR_MESSAGES,
        "completion": columns.TEXT_OR_MESSAGES,
        "label": columns.BOOL,
        "prompt_id": columns.INT,
        "item_id": columns.INT,
        "candidate_id": columns.INT,
        "generator": columns.STRING,
        "params": columns.PARAMS,
        "source": columns.STRING,
        "agreement": columns.FLOAT,
        "label_count": columns.INT,
    },
    rows=rows,
    row_label=lambda values: "desirable" if values["label"] else "undesirable",
    kinds=tuple(SOURCES),
    check=check,
)
