"""`ranking`: one row per ranked item, its completions ordered best first by the ranked-pairs consensus.

`completions`, `candidate_ids`, `generators` and `params` are in consensus order, best first. `pairs`
lists the consensus pairs (`ranking.consensus_pairs`: those a majority of labellers agrees with) as
positions in `completions`, with `margin`, the labellers preferring the winner less those preferring the
loser. `all_flawed` is the majority's flag (None when labellers split evenly). With --expand-pairs the
export writes dpo rows instead, one per pair (see labelapp.exporters.pairs).
"""

from collections.abc import Iterator

from labelapp.exporters import columns, dpo
from labelapp.exporters.format import Format, Record, Row, RowOptions
from labelapp.kinds import ranking


def rows(records: Iterator[Record], options: RowOptions) -> Iterator[Row]:
    conversational = options.shape.conversational
    for record in records:
        item, aggregate = record.item, record.aggregate
        ordered = [item.candidates[index] for index in aggregate.order]
        place = {index: rank for rank, index in enumerate(aggregate.order)}
        yield Row(
            item.prompt.key,
            {
                "id": f"{record.campaign}-{item.id}",
                "prompt": item.prompt.content_in(conversational),
                "completions": [c.text for c in ordered],
                "pairs": [
                    {"chosen": place[winner], "rejected": place[loser], "margin": margin}
                    for winner, loser, margin in ranking.consensus_pairs(aggregate)
                ],
                "candidate_ids": [c.id for c in ordered],
                "generators": [c.generator for c in ordered],
                "params": [c.params for c in ordered],
                "all_flawed": aggregate.all_flawed,
                "mean_kendall_tau": round(aggregate.mean_kendall_tau, 4),
                "prompt_id": item.prompt.id,
                "item_id": item.id,
                "agreement": round(record.agreement, 4),
                "label_count": len(item.labels),
            },
        )


FORMAT = Format(
    name="ranking",
    summary="completions ordered best first by the ranked-pairs consensus, with its pairs "
    "(--expand-pairs: dpo rows, one per pair)",
    columns={
        "id": columns.STRING,
        "prompt": columns.TEXT_OR_MESSAGES,
        "completions": columns.STRINGS,
        "pairs": columns.list_of(
            columns.struct(chosen=columns.INT, rejected=columns.INT, margin=columns.INT)
        ),
        "candidate_ids": columns.INTS,
        "generators": columns.STRINGS,
        "params": columns.PARAMS_LIST,
        "all_flawed": columns.BOOL,
        "mean_kendall_tau": columns.FLOAT,
        "prompt_id": columns.INT,
        "item_id": columns.INT,
        "agreement": columns.FLOAT,
        "label_count": columns.INT,
    },
    rows=rows,
    row_label=lambda values: "all flawed" if values["all_flawed"] else f"{len(values['pairs'])} pairs",
    kinds=(ranking.NAME,),
    expanded=dpo.FORMAT,
)
