"""`hh-rlhf`: Anthropic's HH-RLHF layout: chosen and rejected as whole transcripts.

Each transcript is "\\n\\nHuman: <prompt>\\n\\nAssistant: <answer>"; a chat prompt gives one turn per
message (assistant messages as Assistant, every other role as Human). The layout has no system turn, so
system messages are put at the head of the next Human turn, separated by a blank line.
"""

from collections.abc import Iterator

from labelapp.exporters import columns, pairs
from labelapp.exporters.format import Format, PromptFacts, Record, Row, RowOptions

HUMAN, ASSISTANT = "\n\nHuman: ", "\n\nAssistant: "


def _prompt_turns(prompt: PromptFacts) -> str:
    if prompt.messages is None:
        return HUMAN + prompt.text
    turns, system = [], []
    for message in prompt.messages:
        if message["role"] == "system":
            system.append(message["content"])
        elif message["role"] == "assistant":
            turns.append(ASSISTANT + message["content"])
        else:
            turns.append(HUMAN + "\n\n".join([*system, message["content"]]))
            system = []
    if system:
        turns.append(HUMAN + "\n\n".join(system))
    return "".join(turns)


def rows(records: Iterator[Record], options: RowOptions) -> Iterator[Row]:
    for pair in pairs.preference_pairs(records, options):
        head = _prompt_turns(pair.record.item.prompt)
        yield Row(
            pair.group,
            {
                "id": pairs.pair_id(pair),
                "chosen": head + ASSISTANT + pair.chosen.text,
                "rejected": head + ASSISTANT + pair.rejected.text,
                **pairs.pair_metadata(pair),
            },
        )


FORMAT = Format(
    name="hh-rlhf",
    summary='Anthropic HH-RLHF transcripts ("\\n\\nHuman: " / "\\n\\nAssistant: " turns) in chosen, rejected',
    columns={
        "id": columns.STRING,
        "chosen": columns.STRING,
        "rejected": columns.STRING,
        **pairs.METADATA_COLUMNS,
    },
    rows=rows,
    row_label=pairs.pair_label,
    kinds=pairs.KINDS,
)
