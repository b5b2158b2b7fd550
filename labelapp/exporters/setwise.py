"""`setwise`: one row per set of samples, with what the labellers said about its diversity.

`completions` lists the set's samples in canonical order; `duplicate_groups`, `best` and `worst` are
indices into it. `diversity` is the mean rating (1 all the same ... 5 all different) and
`diversity_median` the lower median; duplicates are the pairs more than half of the labellers marked,
merged where they share a sample; best and worst by plurality (None when tied or never given). A set
holds one generator's samples with one sampling setting: `generator` and `params` are theirs.
"""

from collections.abc import Iterator

from labelapp.exporters import columns
from labelapp.exporters.format import Format, Record, Row, RowOptions
from labelapp.kinds import setwise


def rows(records: Iterator[Record], options: RowOptions) -> Iterator[Row]:
    conversational = options.shape.conversational
    for record in records:
        item, aggregate = record.item, record.aggregate
        yield Row(
            item.prompt.key,
            {
                "id": f"{record.campaign}-{item.id}",
                "prompt": item.prompt.content_in(conversational),
                "completions": [c.text for c in item.candidates],
                "diversity": round(aggregate.diversity_mean, 4),
                "diversity_median": aggregate.diversity_median,
                "duplicate_groups": aggregate.duplicates,
                "best": aggregate.best,
                "worst": aggregate.worst,
                "generator": item.candidates[0].generator,
                "params": item.candidates[0].params,
                "prompt_id": item.prompt.id,
                "item_id": item.id,
                "candidate_ids": [c.id for c in item.candidates],
                "agreement": round(record.agreement, 4),
                "label_count": len(item.labels),
            },
        )


FORMAT = Format(
    name="setwise",
    summary="one row per set of samples: completions, mean diversity rating, duplicate groups, best, worst",
    columns={
        "id": columns.STRING,
        "prompt": columns.TEXT_OR_MESSAGES,
        "completions": columns.STRINGS,
        "diversity": columns.FLOAT,
        "diversity_median": columns.INT,
        "duplicate_groups": columns.INT_LISTS,
        "best": columns.INT,
        "worst": columns.INT,
        "generator": columns.STRING,
        "params": columns.PARAMS,
        "prompt_id": columns.INT,
        "item_id": columns.INT,
        "candidate_ids": columns.INTS,
        "agreement": columns.FLOAT,
        "label_count": columns.INT,
    },
    rows=rows,
    row_label=lambda values: f"diversity {values['diversity_median']}",
    kinds=(setwise.NAME,),
)
