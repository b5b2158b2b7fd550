from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from labelapp.errors import NotFoundError
from labelapp.models import Candidate, Item, ItemCandidate


def item_get_for_labeller(*, labeller: AbstractBaseUser, item_id: int, for_update: bool = False) -> Item:
    """The item, if it is leased to this labeller; otherwise 404, whether or not it exists."""
    items = Item.objects.select_related("campaign", "prompt").filter(pk=item_id, leases__labeller=labeller)
    if for_update:
        items = items.select_for_update(of=("self",))
    item = items.first()
    if item is None:
        raise NotFoundError(f"Item {item_id} is not leased to you.", {"field": "item"})
    return item


def item_in_campaign(*, item_id: int, campaign_name: str) -> bool:
    return Item.objects.filter(pk=item_id, campaign__name=campaign_name).exists()


def item_shown_indices(item: Item) -> list[int]:
    """Canonical index of the candidate shown at each position."""
    return list(ItemCandidate.objects.filter(item=item).order_by("position").values_list("index", flat=True))


@dataclass(frozen=True)
class ShownCandidate:
    position_name: str
    candidate: Candidate


def item_candidates_shown(*, item: Item, position_names: tuple[str, ...]) -> list[ShownCandidate]:
    """The item's candidates in the order this item shows them, with their position names (A, B, ...)."""
    slots = ItemCandidate.objects.filter(item=item).select_related("candidate").order_by("position")
    return [ShownCandidate(position_names[slot.position], slot.candidate) for slot in slots]
