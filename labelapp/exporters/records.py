"""The one iterator every exporter reads: items with their labels aggregated, in canonical order."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch

from labelapp.kinds import pairwise
from labelapp.models import Campaign, Candidate, Item, ItemCandidate, Label

CHUNK_SIZE = 500


@dataclass(frozen=True)
class PairwiseRecord:
    item_id: int
    campaign: str
    prompt_text: str
    prompt_messages: list[dict[str, str]] | None
    candidates: tuple[Candidate, Candidate]  # canonical order: index 0 is "a"
    aggregate: pairwise.PairwiseAggregate

    @property
    def generator_names(self) -> tuple[str, str]:
        return (self.candidates[0].generator.name, self.candidates[1].generator.name)

    def params_of(self, index: int) -> dict[str, Any]:
        return self.candidates[index].params


def pairwise_records(*, campaign: Campaign, min_labels: int = 1) -> Iterator[PairwiseRecord]:
    slots = ItemCandidate.objects.select_related("candidate__generator").order_by("index")
    items = (
        Item.objects.filter(campaign=campaign, kind=pairwise.NAME, is_gold=False)
        .select_related("prompt")
        .prefetch_related(
            Prefetch("slots", queryset=slots),
            Prefetch("labels", queryset=Label.objects.only("item_id", "value")),
        )
        .order_by("id")
    )
    for item in items.iterator(chunk_size=CHUNK_SIZE):
        values = [label.value for label in item.labels.all()]
        if len(values) < min_labels:
            continue
        candidates = tuple(slot.candidate for slot in item.slots.all())
        yield PairwiseRecord(
            item_id=item.pk,
            campaign=campaign.name,
            prompt_text=item.prompt.text,
            prompt_messages=item.prompt.messages,
            candidates=candidates,  # type: ignore[arg-type]
            aggregate=pairwise.aggregate(values),
        )
