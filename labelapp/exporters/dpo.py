"""`dpo`: TRL's preference format with an explicit prompt: prompt, chosen, rejected.

Plain-text prompts give strings; chat prompts give the conversational form (the prompt's message list,
and one assistant message each for chosen and rejected), as `trl.data_utils.is_conversational` expects.
"""

from collections.abc import Iterator

from labelapp.exporters import columns, pairs
from labelapp.exporters.format import ExportContext, Format, Row

_new = tuple.__new__  # Row's own constructor is a Python function; an export makes one per row


def rows(context: ExportContext) -> Iterator[Row]:
    for pair in pairs.preference_pairs(context):
        prompt = pair.record.item.prompt
        content: str | list[dict[str, str]]
        chosen: str | list[dict[str, str]]
        rejected: str | list[dict[str, str]]
        if prompt.messages is None:
            content, chosen, rejected = prompt.text, pair.chosen.text, pair.rejected.text
        else:
            content = prompt.messages
            chosen, rejected = pairs.as_assistant(pair.chosen.text), pairs.as_assistant(pair.rejected.text)
        values = {"id": pairs.pair_id(pair), "prompt": content, "chosen": chosen, "rejected": rejected}
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
