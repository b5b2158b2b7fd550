"""`dpo`: TRL's preference format with an explicit prompt: prompt, chosen, rejected.

Plain-text prompts give strings; chat prompts give the conversational form (the prompt's message list,
and one assistant message each for chosen and rejected), as `trl.data_utils.is_conversational` expects.
A campaign mixing the two is exported in the conversational form, a plain prompt as one user message.
"""

from collections.abc import Iterator

from labelapp.exporters import columns, pairs
from labelapp.exporters.format import Format, Record, Row, RowOptions

_new = tuple.__new__  # Row's own constructor is a Python function; an export makes one per row


def rows(records: Iterator[Record], options: RowOptions) -> Iterator[Row]:
    conversational, answer_in = options.shape.conversational, pairs.answer_in
    for pair in pairs.preference_pairs(records, options):
        prompt = pair.record.item.prompt
        values = {
            "id": pairs.pair_id(pair),
            "prompt": prompt.content_in(conversational),
            "chosen": answer_in(pair.chosen.text, conversational),
            "rejected": answer_in(pair.rejected.text, conversational),
        }
        values.update(pairs.pair_metadata(pair))
        yield _new(Row, (prompt.key, values))


FORMAT = Format(
    name="dpo",
    summary="TRL preference with explicit prompt (prompt, chosen, rejected), for DPOTrainer",
    columns={
        "id": columns.STRING,
        "prompt": columns.TEXT_OR_MESSAGES,
        "chosen": columns.TEXT_OR_MESSAGES,
        "rejected": columns.TEXT_OR_MESSAGES,
        **pairs.METADATA_COLUMNS,
    },
    rows=rows,
    row_label=pairs.pair_label,
    kinds=pairs.KINDS,
)
