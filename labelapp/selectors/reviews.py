"""What a reviewer reads: whether a user reviews at all, and an item's labels as the review page shows them."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User

from labelapp.exporters.pseudonyms import labeller_pseudonym
from labelapp.kinds import kind_get
from labelapp.kinds.base import POSITION_NAMES
from labelapp.models import REVIEWER_SKILL, Item
from labelapp.selectors.items import item_shown_order
from labelapp.selectors.labellers import labeller_standing

# Keys whose canonical indices name a candidate: shown to the reviewer as the position they see (A, B...).
POSITIONAL_KEYS = {"order", "top", "best", "worst", "duplicates"}


def user_is_reviewer(user: User) -> bool:
    """A labeller (or staff member) with the reviewer skill who is not suspended."""
    if not user.is_authenticated:
        return False
    standing = labeller_standing(user=user)
    return (
        (standing.in_group or user.is_staff) and REVIEWER_SKILL in standing.skills and not standing.suspended
    )


@dataclass(frozen=True)
class ReviewedLabel:
    labeller: str  # a pseudonym, as in exports: never the username
    fields: list[tuple[str, str]]  # (key, value in words), the positions as the reviewer sees them


def _in_words(key: str, value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "-"}[value]
    if isinstance(value, int) and key in POSITIONAL_KEYS:
        return POSITION_NAMES[value]
    if isinstance(value, list):
        return ", ".join(_in_words(key, element) for element in value) or "-"
    if isinstance(value, Mapping):
        return "; ".join(f"{name}: {_in_words(key, inner)}" for name, inner in value.items()) or "-"
    if key in {"choice"} and value in {"a", "b"}:
        return str(value).upper()
    return str(value) if value != "" else "-"


def review_labels(*, item: Item, reviewer: User) -> list[ReviewedLabel]:
    """Every human label of the item, oldest first, under pseudonyms, in the positions the reviewer sees."""
    task_kind = kind_get(item.kind)
    # Where each canonical index is shown: given to label_to_canonical in place of the shown order, it turns a
    # canonical value into the reviewer's positions.
    inverse = list(item_shown_order(item=item, labeller=reviewer).positions)
    labels = item.labels.order_by("id").values_list("labeller_id", "value")
    return [
        ReviewedLabel(
            labeller_pseudonym(labeller_id),
            [
                (key, _in_words(key, shown))
                for key, shown in task_kind.label_to_canonical(value, inverse).items()
            ],
        )
        for labeller_id, value in labels
    ]
