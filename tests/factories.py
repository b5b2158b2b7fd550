import io
import json
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management import call_command

from labelapp.models import Campaign, Candidate, Generator, Item, ItemCandidate, Prompt
from labelapp.selectors.items import ShownOrder, item_shown_order


def candidates_add(prompt: Prompt, generator: Generator, texts: list[str]) -> list[Candidate]:
    return [
        Candidate.objects.create(prompt=prompt, generator=generator, text=text, sample_index=index)
        for index, text in enumerate(texts)
    ]


def item_factory(campaign: Campaign) -> Item:
    """A pairwise item of a new prompt, with no candidates: for tests that only need an item to exist."""
    prompt = Prompt.objects.create(campaign=campaign, text="A question?")
    return Item.objects.create(campaign=campaign, kind="pairwise", prompt=prompt)


def item_built_order(item: Item) -> list[int]:
    """The canonical index at each of the item's own positions, as the build drew them (the AI judge's order;
    labellers get their own, selectors.items.shown_order_for_labeller)."""
    return list(ItemCandidate.objects.filter(item=item).order_by("position").values_list("index", flat=True))


def shown_order(item: Item, labeller: User) -> ShownOrder:
    """The order `labeller` sees `item` in: `.positions[index]` is where canonical index `index` is shown."""
    return item_shown_order(item=item, labeller=labeller)


def item_shown_indices(*, item: Item, labeller: User) -> list[int]:
    """The canonical index of the candidate shown to `labeller` at each position of `item`."""
    return shown_order(item, labeller).indices


def export_rows(campaign: Campaign, format_name: str, out: Path, **options: Any) -> list[dict]:
    """`export_dataset` of the campaign in one process, quietly; the JSONL rows it wrote."""
    call_command(
        "export_dataset",
        campaign=campaign.name,
        format=format_name,
        out=str(out),
        workers=1,
        no_progress=True,
        stdout=io.StringIO(),
        **options,
    )
    return [json.loads(line) for line in out.read_text().splitlines()]
