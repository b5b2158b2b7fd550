"""Task kinds: each module owns its label schema, validation, aggregation, item building and template.

`labelapp/kinds/base.py` says what a kind module provides (`TaskKind`); mypy checks every module listed
here against it. Adding a kind is one module, one template and one line here.
"""

from labelapp.errors import ApplicationError
from labelapp.kinds import coherence, correctness, pairwise, ranking, set_vs_set, setwise
from labelapp.kinds.base import ItemShape, TaskKind
from labelapp.models import Campaign

KINDS: dict[str, TaskKind] = {
    pairwise.NAME: pairwise,
    correctness.NAME: correctness,
    coherence.NAME: coherence,
    setwise.NAME: setwise,
    set_vs_set.NAME: set_vs_set,
    ranking.NAME: ranking,
}


def kind_get(name: str) -> TaskKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ApplicationError(
            f"Unknown task kind '{name}'. Allowed: {', '.join(sorted(KINDS))}.", {"field": "kind"}
        ) from None


def item_shape(*, campaign: Campaign, candidate_count: int) -> ItemShape:
    return ItemShape(
        candidate_count=candidate_count,
        criteria=tuple(campaign.criteria),
        error_categories=tuple(campaign.error_categories),
    )


def reference_answer_shown(*, campaign: Campaign) -> bool:
    """The campaign's setting, unless its kind is judged without knowing the facts (coherence)."""
    return campaign.show_reference_answer and not kind_get(campaign.kind).HIDES_REFERENCE_ANSWER
