"""Preference pairs from pairwise or ranking records: what dpo, rm and hh-rlhf rows are made of.

Pairwise: a pair is an item whose majority chose A or B. Items whose majority is a tie become rows only
with --include-ties, flagged `tie: true` (chosen and rejected are then just A and B, not a preference);
a tie is never turned into two opposite pairs. Both-bad majorities and split votes are never pairs.

Ranking: an item gives one pair per `ranking.consensus_pairs` of its consensus, best winner first:
every pair the consensus order keeps by a majority of labellers (pairs they split on, or that breaking
a cycle reversed, give none). Items whose majority flagged every answer as flawed give no pairs, as
both-bad pairwise items give none.

`criteria` gives, for each of the campaign's criteria, the labellers' majority for the pair as written:
"chosen", "rejected", "tie", or None where they split; null when the campaign lists no criteria, and
for ranking pairs (rankings have no per-criterion choices).
"""

from collections.abc import Iterator
from typing import Any, NamedTuple

from labelapp.exporters import columns
from labelapp.exporters.format import CandidateFacts, Record, RowOptions
from labelapp.kinds import pairwise, ranking


class Pair(NamedTuple):  # a tuple: an export makes one per row
    record: Record
    chosen: CandidateFacts
    rejected: CandidateFacts
    tie: bool
    strength: str | None  # pairwise: the majority's strength; ranking pairs have none
    criteria: dict[str, str | None] | None = None  # per criterion: "chosen", "rejected", "tie" or None

    @property
    def group(self) -> str:
        return self.record.item.prompt.key


def preference_pairs(records: Iterator[Record], options: RowOptions) -> Iterator[Pair]:
    """The pairs of a pairwise or a ranking campaign's records."""
    if options.shape.kind == ranking.NAME:
        return _ranking_pairs(records)
    return _pairwise_pairs(records, options.shape.criteria, options.asked.include_ties)


AS_WRITTEN: dict[str, dict[str | None, str]] = {
    "a": {"a": "chosen", "b": "rejected", "tie": "tie"},  # A was written as chosen
    "b": {"a": "rejected", "b": "chosen", "tie": "tie"},
}


def _criteria(aggregate: pairwise.PairwiseAggregate, names: tuple[str, ...], chosen: str) -> dict | None:
    if not names:
        return None
    given = aggregate.criteria
    return {name: AS_WRITTEN[chosen].get(given.get(name)) for name in names}


_new = tuple.__new__  # Pair's own constructor is a Python function; an export makes one per row


def _pairwise_pairs(records: Iterator[Record], names: tuple[str, ...], ties: bool) -> Iterator[Pair]:
    for record in records:
        aggregate = record.aggregate
        choice, strength = aggregate.choice, aggregate.strength
        first, second = record.item.candidates
        if choice == "a" or (choice == "tie" and ties):
            criteria = _criteria(aggregate, names, "a")
            yield _new(Pair, (record, first, second, choice == "tie", strength, criteria))
        elif choice == "b":
            criteria = _criteria(aggregate, names, "b")
            yield _new(Pair, (record, second, first, False, strength, criteria))


def _ranking_pairs(records: Iterator[Record]) -> Iterator[Pair]:
    for record in records:
        if record.aggregate.all_flawed:
            continue
        candidates = record.item.candidates
        for winner, loser, _ in ranking.consensus_pairs(record.aggregate):
            yield Pair(record, candidates[winner], candidates[loser], tie=False, strength=None)


KINDS = (pairwise.NAME, ranking.NAME)  # the campaigns pairs are read from

METADATA_COLUMNS = {
    "prompt_id": columns.INT,
    "item_id": columns.INT,
    "chosen_candidate_id": columns.INT,
    "rejected_candidate_id": columns.INT,
    "chosen_generator": columns.STRING,
    "rejected_generator": columns.STRING,
    "chosen_params": columns.PARAMS,
    "rejected_params": columns.PARAMS,
    "strength": columns.STRING,
    "agreement": columns.FLOAT,
    "label_count": columns.INT,
    "tie": columns.BOOL,
    "criteria": columns.CRITERIA,
}


def pair_metadata(pair: Pair) -> dict[str, Any]:
    record, chosen, rejected = pair.record, pair.chosen, pair.rejected
    item = record.item
    return {
        "prompt_id": item.prompt.id,
        "item_id": item.id,
        "chosen_candidate_id": chosen.id,
        "rejected_candidate_id": rejected.id,
        "chosen_generator": chosen.generator,
        "rejected_generator": rejected.generator,
        "chosen_params": chosen.params,
        "rejected_params": rejected.params,
        "strength": pair.strength,
        "agreement": round(record.agreement, 4),
        "label_count": len(item.labels),
        "tie": pair.tie,
        "criteria": pair.criteria,
    }


def pair_id(pair: Pair) -> str:
    """The item for a pairwise item's one pair; the item and both candidates for a ranking's pairs."""
    item = pair.record.item
    if item.kind == ranking.NAME:
        return f"{pair.record.campaign}-{item.id}-{pair.chosen.id}-{pair.rejected.id}"
    return f"{pair.record.campaign}-{item.id}"


def pair_label(values: dict[str, Any]) -> str:
    if values["tie"]:
        return "tie"
    return f"chosen ({values['strength']})" if values["strength"] else "chosen (no strength given)"


def as_assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def answer_in(text: str, conversational: bool) -> str | list[dict[str, str]]:
    """An answer in its export's form, as PromptFacts.content_in gives the prompt."""
    return as_assistant(text) if conversational else text
