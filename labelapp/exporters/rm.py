"""`rm`: TRL's implicit-prompt preference format (chosen, rejected full texts), plus `margin`.

Each side is the whole exchange: for chat prompts the prompt's messages followed by the assistant's
answer (in a campaign mixing the two, a plain prompt is one user message); for plain-text prompts the
prompt, a blank line, then the answer. TRL's RewardTrainer reads `margin` and subtracts it inside the
loss, -log σ(r_chosen − r_rejected − margin), so stronger preferences must be won by more. The mapping
follows Llama 2's "small margin" (Touvron et al. 2023, table 28): strong 1, clear 2/3, slight 1/3, no
strength given (or a tie) 0.
"""

from collections.abc import Iterator

from labelapp.exporters import columns, pairs
from labelapp.exporters.format import Format, PromptFacts, Record, Row, RowOptions

MARGINS = {"strong": 1.0, "clear": round(2 / 3, 4), "slight": round(1 / 3, 4), None: 0.0}
TEXT_SEPARATOR = "\n\n"


def _full(prompt: PromptFacts, answer: str, conversational: bool) -> str | list[dict[str, str]]:
    if conversational:
        return [*prompt.as_messages(), *pairs.as_assistant(answer)]
    return f"{prompt.text}{TEXT_SEPARATOR}{answer}"


def rows(records: Iterator[Record], options: RowOptions) -> Iterator[Row]:
    conversational = options.shape.conversational
    for pair in pairs.preference_pairs(records, options):
        prompt = pair.record.item.prompt
        metadata = pairs.pair_metadata(pair)
        yield Row(
            pair.group,
            {
                "id": pairs.pair_id(pair),
                "chosen": _full(prompt, pair.chosen.text, conversational),
                "rejected": _full(prompt, pair.rejected.text, conversational),
                "margin": 0.0 if pair.tie else MARGINS[metadata["strength"]],
                **metadata,
            },
        )


FORMAT = Format(
    name="rm",
    summary="TRL implicit-prompt preference (chosen, rejected full texts) with margin, for RewardTrainer",
    columns={
        "id": columns.STRING,
        "chosen": columns.TEXT_OR_MESSAGES,
        "rejected": columns.TEXT_OR_MESSAGES,
        "margin": columns.FLOAT,
        **pairs.METADATA_COLUMNS,
    },
    rows=rows,
    row_label=pairs.pair_label,
    kinds=pairs.KINDS,
)
