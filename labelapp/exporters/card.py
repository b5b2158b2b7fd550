"""The dataset card (README.md) written beside every export, and the counts it is made from.

Counts are taken while rows stream past, so the card costs no second pass over the labels.
"""

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

from labelapp.exporters.columns import Shape, column_description
from labelapp.exporters.format import CandidateFacts, Format, Record

PARAMS_SHOWN_PER_GENERATOR = 12
_labeller_id = attrgetter("labeller_id")  # map(_labeller_id, labels): no comprehension per item


@dataclass
class ExportStats:
    rows: Counter[str] = field(default_factory=Counter)  # per split
    row_labels: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # per split
    agreement_sum: float = 0.0
    agreement_rows: int = 0
    items: int = 0
    labels: int = 0
    adjudicated: int = 0  # items whose consensus is a reviewer's final label
    outcomes: Counter[str] = field(default_factory=Counter)
    labellers: set[int | str] = field(default_factory=set)
    generator_params: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def observed(self, records: Iterable[Record]) -> Iterator[Record]:
        """Pass records through, counting what the card reports about the items behind the rows."""
        # Candidates of one job share one params dict (records._Decoded): look each object up once.
        # Holding the objects keeps their ids from being reused.
        params_seen: dict[int, dict[str, Any]] = {}
        labellers, outcomes = self.labellers, self.outcomes
        items = labels = adjudicated = 0
        try:
            for record in records:
                item = record.item
                items += 1
                labels += len(item.labels)
                adjudicated += item.adjudication is not None
                outcomes[record.outcome] += 1
                labellers.update(map(_labeller_id, item.labels))
                for candidate in item.candidates:
                    if id(candidate.params) not in params_seen:
                        self._params_seen(candidate, params_seen)
                yield record
        finally:
            self.items += items
            self.labels += labels
            self.adjudicated += adjudicated

    def _params_seen(self, candidate: CandidateFacts, seen: dict[int, dict[str, Any]]) -> None:
        if len(seen) > 10_000:
            seen.clear()
        seen[id(candidate.params)] = candidate.params
        self.generator_params[candidate.generator].add(json.dumps(candidate.params, sort_keys=True))

    def row_written(self, split: str, label: str, values: Mapping[str, Any]) -> None:
        self.rows[split] += 1
        self.row_labels[split][label] += 1
        agreement = values.get("agreement")
        if agreement is not None:
            self.agreement_sum += agreement
            self.agreement_rows += 1

    def merge(self, part: "ExportStats") -> None:
        """Add the counts of another part of the export (each part is counted where it is written)."""
        self.rows.update(part.rows)
        for split, labels in part.row_labels.items():
            self.row_labels[split].update(labels)
        self.agreement_sum += part.agreement_sum
        self.agreement_rows += part.agreement_rows
        self.items += part.items
        self.labels += part.labels
        self.adjudicated += part.adjudicated
        self.outcomes.update(part.outcomes)
        self.labellers |= part.labellers
        for generator, params in part.generator_params.items():
            self.generator_params[generator] |= params


@dataclass(frozen=True)
class CardFacts:
    campaign_name: str
    campaign_title: str
    instructions: str
    format: Format
    shape: Shape
    splits: Sequence[str]
    files: Sequence[Path]  # data files (or the dataset folder), relative names shown
    dataset_folder: bool
    command: str
    settings: Sequence[str]  # the options in words, one line each
    source_labels: bool  # the rows hold the imported datasets' own verdicts, not human labels
    judge_labels: bool  # the rows hold AI judges' verdicts (RLAIF), not human labels
    app_version: str
    exported_at: datetime


def _whose(facts: CardFacts) -> str:
    if facts.source_labels:
        return "The verdicts of the imported datasets themselves (source labels), not human labels, imported"
    if facts.judge_labels:
        return "AI feedback (RLAIF): the verdicts of an AI judge (`judge_items`), not human labels, collected"
    return "Human judgements collected with labelapp"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _front_matter(facts: CardFacts) -> str:
    lines = [
        "---",
        f"pretty_name: {json.dumps(f'{facts.campaign_title or facts.campaign_name} ({facts.format.name})')}",
        "tags:",
        "- labelapp",
        "- ai-feedback" if facts.judge_labels else "- human-feedback",
        f"- {facts.format.name}",
    ]
    if not facts.dataset_folder:
        lines += ["configs:", "- config_name: default", "  data_files:"]
        for split, path in zip(facts.splits, facts.files, strict=True):
            lines += [f"  - split: {split}", f"    path: {path.name}"]
    return "\n".join([*lines, "---"])


def _generators_table(stats: ExportStats) -> str:
    rows = []
    for name in sorted(stats.generator_params):
        params = sorted(stats.generator_params[name])
        shown = [f"`{p}`" for p in params[:PARAMS_SHOWN_PER_GENERATOR]]
        if len(params) > PARAMS_SHOWN_PER_GENERATOR:
            shown.append(f"and {len(params) - PARAMS_SHOWN_PER_GENERATOR} more")
        rows.append((f"`{name}`", "<br>".join(shown)))
    return _table(["generator", "sampling params"], rows) if rows else "No rows, so no generators."


def card_render(facts: CardFacts, stats: ExportStats) -> str:
    labels = sorted({label for split in facts.splits for label in stats.row_labels[split]})
    split_rows = [
        (split, stats.rows[split], *(stats.row_labels[split][label] for label in labels))
        for split in facts.splits
    ]
    mean_agreement = (
        f"{stats.agreement_sum / stats.agreement_rows:.3f}" if stats.agreement_rows else "n/a (no rows)"
    )
    outcomes = ", ".join(f"{name}: {count}" for name, count in sorted(stats.outcomes.items())) or "none"
    files = (
        f"the folder `{facts.files[0].name}` (load it with `datasets.load_from_disk`)"
        if facts.dataset_folder
        else ", ".join(f"`{path.name}`" for path in facts.files)
    )
    instructions = "\n".join(f"> {line}" for line in facts.instructions.splitlines()) or "(none written)"
    sections = [
        _front_matter(facts),
        f"# {facts.campaign_title or facts.campaign_name}: `{facts.format.name}` export",
        f"{facts.format.summary}. {_whose(facts)} in campaign "
        f"`{facts.campaign_name}`; exported {facts.exported_at.isoformat(timespec='seconds')} by labelapp "
        f"{facts.app_version} to {files}.",
        "## Rows per split\n\n" + _table(["split", "rows", *labels], split_rows),
        "## Labels and agreement\n\n"
        + "\n".join(
            [
                f"- Items exported from: {stats.items}, with {stats.labels} labels by {len(stats.labellers)} "
                + ("sources." if facts.source_labels else "judges." if facts.judge_labels else "labellers."),
                f"- Majority outcome of those items: {outcomes}.",
                f"- Adjudicated items: {stats.adjudicated} (labels that disagreed, settled by a reviewer's final "
                "label, which replaces their majority).",
                f"- Mean agreement (fraction of an item's labels agreeing with its majority) over the rows: {mean_agreement}.",
                *(f"- {line}" for line in facts.settings),
            ]
        ),
        "## Generators and sampling params\n\n" + _generators_table(stats),
        "## Columns\n\n"
        + _table(
            ["column", "type"],
            (
                (f"`{name}`", column_description(column, facts.shape))
                for name, column in facts.format.columns.items()
            ),
        ),
        "## Campaign instructions (shown to labellers)\n\n" + instructions,
        "## Reproduce\n\n```bash\n" + facts.command + "\n```",
    ]
    return "\n\n".join(sections) + "\n"
