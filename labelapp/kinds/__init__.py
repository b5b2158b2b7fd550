"""Task kinds: each module owns its label schema, validation, aggregation and template."""

from types import ModuleType

from labelapp.errors import ApplicationError
from labelapp.kinds import pairwise

KINDS: dict[str, ModuleType] = {pairwise.NAME: pairwise}


def kind_get(name: str) -> ModuleType:
    try:
        return KINDS[name]
    except KeyError:
        raise ApplicationError(
            f"Unknown task kind '{name}'. Allowed: {', '.join(sorted(KINDS))}.", {"field": "kind"}
        ) from None
