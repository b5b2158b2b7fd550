"""What every task kind module provides, and the small pieces they share.

A kind is a module under `labelapp/kinds/` with:

- `NAME`, `TEMPLATE` (its controls, included in the label form after the prompt, with `item`, `campaign`,
  `shown`), `POSITION_NAMES`;
- `CANDIDATE_COUNTS`: the values `per_item` may take (candidates per item; set-vs-set: per side);
- `AGREEMENT_FIELDS`: the canonical value's keys Krippendorff's alpha is computed on (the first one also
  defines "agreement with the majority" on the dashboard); may be empty;
- `VALUE_HELP`: the value's JSON shape, for the API documentation;
- `value_from_form(data)`: the submitted form (a QueryDict) as a value in shown positions;
- `label_validate(value, *, shape)`: the cleaned value, or ApplicationError naming the field and the
  allowed values;
- `label_to_canonical(value, shown_indices)`: positions shown -> canonical candidate indices;
- `gold_matches(value, gold_value)` and `gold_value_from(aggregate)`: gold scoring, and the known answer
  an admin's "mark gold" takes from the labels' consensus (None when there is none);
- `aggregate(values)`: several labellers' canonical values -> one record with `agreement`, `label_count`;
- `options_check(options)`, then `candidate_groups(candidates, *, options, rng)`: which of one prompt's
  candidates (critiques included, oldest first) go together in an item; `ALLOWS_IDENTICAL_TEXTS`: whether
  a group may hold two identical texts (False where labellers compare them);
- `shuffled_positions(count, rng)`: where each canonical index is shown;
- optionally `HIDES_REFERENCE_ANSWER = True`: never show the prompt's reference answer, whatever the
  campaign's `show_reference_answer` says (labellers who are not meant to judge the facts).
"""

import random
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from labelapp.errors import ApplicationError
from labelapp.user_text import text_check

POSITION_NAMES = tuple("ABCDEFGHIJ")
TEXT_MAX_CHARS = 5000


@dataclass(frozen=True)
class ItemShape:
    """What a label is validated against: the item's size and its campaign's options for the kind."""

    candidate_count: int
    criteria: tuple[str, ...] = ()
    error_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgreementField:
    key: str
    level: Literal["nominal", "ordinal"]
    values: tuple[Any, ...]  # every value, in order for an ordinal level


@dataclass(frozen=True)
class BuildOptions:
    """How `build_items` groups candidates; each kind reads the options that apply to it."""

    generators: tuple[str, ...] = ()  # only candidates of these generators (all when empty)
    per_item: int | None = None  # candidates per item (set-wise N, ranking K); the kind's default if None
    max_per_prompt: int | None = None
    pairing: str = "within-prompt"  # pairwise only
    extra: Mapping[str, Any] = field(default_factory=dict)


def shuffled(count: int, rng: random.Random) -> list[int]:
    """Independent random positions: `result[index]` is where canonical index `index` is shown."""
    positions = list(range(count))
    rng.shuffle(positions)
    return positions


def fields_check(value: Any, allowed: Collection[str]) -> Mapping[str, Any]:
    """The value must be an object with no keys beyond `allowed`."""
    if not isinstance(value, Mapping):
        raise ApplicationError(
            f"The label value must be an object with fields {', '.join(allowed)}.", {"field": "value"}
        )
    unknown = set(value) - set(allowed)
    if unknown:
        raise ApplicationError(
            f"Unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(allowed)}.",
            {"field": sorted(unknown)[0], "allowed": list(allowed)},
        )
    return value


def choice_field(value: Mapping[str, Any], key: str, allowed: Sequence[Any], *, required: bool = True) -> Any:
    """`value[key]` if it is one of `allowed` (None when optional and empty); otherwise a 400 naming both."""
    raw = value.get(key)
    if raw in (None, "") and not required:
        return None
    if isinstance(raw, str) and allowed and all(isinstance(a, int) for a in allowed):
        raw = _int_or_none(raw)  # form posts send numbers as text
    if isinstance(raw, bool) or raw not in allowed:
        shown = ", ".join(str(a) for a in allowed)
        requirement = "must be one of" if required else "must be empty or one of"
        raise ApplicationError(
            f"Field '{key}' {requirement} {shown}.", {"field": key, "allowed": list(allowed)}
        )
    return raw


def text_field(value: Mapping[str, Any], key: str, max_chars: int = TEXT_MAX_CHARS) -> str:
    """Free text, stripped; empty when absent or null. Anything but a string is refused, not converted."""
    raw = value.get(key)
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ApplicationError(f"Field '{key}' must be text (a string).", {"field": key})
    text = text_check(raw, field=key).strip()
    if len(text) > max_chars:
        raise ApplicationError(f"Field '{key}' is longer than {max_chars} characters.", {"field": key})
    return text


def position_field(
    value: Mapping[str, Any], key: str, shape: ItemShape, *, required: bool = True
) -> int | None:
    """A shown position given by its name ("A", "B", ...), returned as its number (0, 1, ...)."""
    names = POSITION_NAMES[: shape.candidate_count]
    name = choice_field(value, key, names, required=required)
    return None if name is None else names.index(name)


def majority(values: Sequence[Any]) -> tuple[Any, int]:
    """The most frequent value and its count; (None, count) when the top two are tied."""
    counts = Counter(values).most_common(2)
    if not counts:
        return None, 0
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None, counts[0][1]
    return counts[0]


def _int_or_none(raw: str) -> int | str:
    try:
        return int(raw)
    except ValueError:
        return raw
