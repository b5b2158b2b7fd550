"""`raw`: every label, one row each, the audit trail behind the aggregated formats.

A row has the item, its prompt (with its conversation's id and turn, which join the turns of a conversation
continued from its preferred replies) and candidates (ids, texts, generators, sampling params) in canonical
order, the label's value in canonical order, the labeller as a pseudonymous id (never the username), the
seconds spent and when it was given, and the item's aggregate. The export's selection applies
(excluded labellers, --since, --generator, --min-labels, --min-agreement); gold items never appear.
"""

import functools
from collections.abc import Iterator

from labelapp.exporters import columns
from labelapp.exporters.format import Format, Record, Row, RowOptions
from labelapp.exporters.pseudonyms import labeller_pseudonym


def rows(records: Iterator[Record], options: RowOptions) -> Iterator[Row]:
    conversational = options.shape.conversational
    pseudonym = functools.lru_cache(maxsize=None)(labeller_pseudonym)  # a labeller has many labels
    for record in records:
        item = record.item
        shared = {
            "item_id": item.id,
            "kind": item.kind,
            "prompt_id": item.prompt.id,
            "prompt": item.prompt.content_in(conversational),
            "conversation_id": item.prompt.conversation_id,
            "turn": item.prompt.turn,
            "candidate_ids": [c.id for c in item.candidates],
            "completions": [c.text for c in item.candidates],
            "generators": [c.generator for c in item.candidates],
            "params": [c.params for c in item.candidates],
            "item_created_at": item.created_at.isoformat(),
            "aggregate": record.outcome,
            "agreement": round(record.agreement, 4),
        }
        for label in item.labels:
            yield Row(
                item.prompt.key,
                {
                    "id": f"{record.campaign}-{_label_kind(label.labeller_id)}-{label.id}",
                    "label_id": label.id,
                    **shared,
                    "labeller": label.labeller_id
                    if isinstance(label.labeller_id, str)
                    else pseudonym(label.labeller_id),
                    "value": label.value,
                    "seconds_spent": label.seconds_spent,
                    "labelled_at": label.created_at.isoformat(),
                },
            )


def _label_kind(labeller_id: int | str) -> str:
    """A source label (`--labels source`) is by its dataset, "source:<name>", and a judge label (`--labels
    judge`) by its generator, "judge:<name>": not by a person."""
    if isinstance(labeller_id, str):
        return "judge-label" if labeller_id.startswith("judge:") else "source-label"
    return "label"


def _label_in_a_word(values: dict) -> str:
    """The label's own answer where it has one word for it, else what the item's labels concluded."""
    value = values["value"]
    for key in ("choice", "verdict", "preferred"):
        if key in value:
            return str(value[key])
    return values["aggregate"]


FORMAT = Format(
    name="raw",
    audit_trail=True,
    summary="every label with its item, candidates, generators, params, pseudonymous labeller and timings",
    columns={
        "id": columns.STRING,
        "label_id": columns.INT,
        "item_id": columns.INT,
        "kind": columns.STRING,
        "prompt_id": columns.INT,
        "prompt": columns.TEXT_OR_MESSAGES,
        "conversation_id": columns.INT,
        "turn": columns.INT,
        "candidate_ids": columns.INTS,
        "completions": columns.STRINGS,
        "generators": columns.STRINGS,
        "params": columns.PARAMS_LIST,
        "item_created_at": columns.STRING,
        "aggregate": columns.STRING,
        "agreement": columns.FLOAT,
        "labeller": columns.STRING,
        "value": columns.LABEL_VALUE,
        "seconds_spent": columns.FLOAT,
        "labelled_at": columns.STRING,
    },
    rows=rows,
    row_label=_label_in_a_word,
)
