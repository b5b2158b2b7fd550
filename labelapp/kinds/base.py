"""What every task kind module provides (`TaskKind`, which mypy checks each module against in
`labelapp/kinds/__init__.py`), and the small pieces the kinds share."""

import random
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from django.http import QueryDict

from labelapp.errors import ApplicationError
from labelapp.models import Candidate
from labelapp.user_text import text_check

POSITION_NAMES = tuple("ABCDEFGHIJ")
TEXT_MAX_CHARS = 5000
# A labeller's stated confidence in a label (correctness, pairwise): an ordinal scale, most sure first.
CONFIDENCES = ("certain", "probably", "guessing")


@dataclass(frozen=True)
class ItemShape:
    """What a label is validated against: the item's size and its campaign's options for the kind."""

    candidate_count: int
    criteria: tuple[str, ...] = ()
    error_categories: tuple[str, ...] = ()
    continues: bool = False  # pairwise: the labeller may write the user's next message


@dataclass(frozen=True)
class AgreementField:
    key: str
    level: Literal["nominal", "ordinal"]
    values: tuple[Any, ...]  # every value, in order for an ordinal level


BEST_OF_N_MARK = ":best-of-n"


def best_of_n_selected(candidate: Candidate) -> bool:
    """Whether a best-of-N job selected this answer as the best of its samples."""
    return bool(candidate.selection and candidate.selection.get("selected"))


@dataclass(frozen=True)
class GeneratorChoice:
    """A generator as build options name it: "model" (all its samples), "model@0.7" (only those sampled
    at temperature 0.7), so set vs set can compare one generator at two temperatures, or "model:best-of-n"
    (only the answers its best-of-N jobs selected; "model@0.7:best-of-n" at one temperature)."""

    name: str
    temperature: float | None = None
    best_of_n: bool = False

    @classmethod
    def parse(cls, text: str) -> "GeneratorChoice":
        best_of_n = text.endswith(BEST_OF_N_MARK)
        generator = text.removesuffix(BEST_OF_N_MARK)
        name, mark, temperature = generator.rpartition("@")
        if not mark:
            return cls(generator, best_of_n=best_of_n)
        try:
            return cls(name, float(temperature), best_of_n)
        except ValueError:
            raise ApplicationError(
                f"Field 'generators': '{text}' names a temperature that is not a number (e.g. {name}@0.7).",
                {"field": "generators"},
            ) from None

    def matches(self, candidate: Candidate) -> bool:
        if candidate.generator.name != self.name:
            return False
        if self.best_of_n and not best_of_n_selected(candidate):
            return False
        return self.temperature is None or candidate.params.get("temperature") == self.temperature


@dataclass(frozen=True)
class BuildOptions:
    """How `build_items` groups candidates; each kind reads the options that apply to it."""

    generators: tuple[str, ...] = ()  # only candidates of these generators (all when empty); GeneratorChoice
    per_item: int | None = None  # candidates per item (set-wise N, ranking K); the kind's default if None
    max_per_prompt: int | None = None
    pairing: str = "within-prompt"  # pairwise only
    extra: Mapping[str, Any] = field(default_factory=dict)


class Aggregate(Protocol):
    """Several labellers' canonical values of one item combined: each kind adds its own answer fields."""

    @property
    def agreement(self) -> float: ...
    @property
    def label_count(self) -> int: ...


class TaskKind(Protocol):
    """A task kind: a module under `labelapp/kinds/`, one template, and one line in `kinds.KINDS`.

    Read-only properties here are plain module constants there (`NAME = "pairwise"`); methods are module
    functions, without `self`.
    """

    @property
    def NAME(self) -> str: ...
    @property
    def TEMPLATE(self) -> str:
        """Its controls, included in the label form after the prompt, with `item`, `campaign`, `shown`."""

    @property
    def POSITION_NAMES(self) -> tuple[str, ...]: ...
    @property
    def CANDIDATE_COUNTS(self) -> range:
        """The values `per_item` may take (candidates per item; set-vs-set: per side)."""

    @property
    def AGREEMENT_FIELDS(self) -> tuple["AgreementField", ...]:
        """The canonical value's keys Krippendorff's alpha is computed on (the first one also defines
        "agreement with the majority" on the dashboard); may be empty."""

    @property
    def VALUE_HELP(self) -> str:
        """The value's JSON shape, for the API documentation."""

    @property
    def ALLOWS_IDENTICAL_TEXTS(self) -> bool:
        """Whether an item may hold two identical texts (False where labellers compare them)."""

    @property
    def HIDES_REFERENCE_ANSWER(self) -> bool:
        """Never show the prompt's reference answer, whatever the campaign's `show_reference_answer` says
        (labellers who are not meant to judge the facts)."""

    def value_from_form(self, data: QueryDict) -> dict[str, Any]:
        """The submitted form as a value in shown positions."""

    def label_validate(self, value: Any, *, shape: "ItemShape") -> dict[str, Any]:
        """The cleaned value, or ApplicationError naming the field and the allowed values."""

    def label_to_canonical(self, value: Mapping[str, Any], shown_indices: Sequence[int]) -> dict[str, Any]:
        """Positions shown -> canonical candidate indices."""

    def gold_matches(self, value: Mapping[str, Any], gold_value: Mapping[str, Any] | None) -> bool: ...

    def aggregate(self, values: Sequence[Mapping[str, Any]]) -> Aggregate: ...

    def gold_value_from(self, consensus: Any) -> dict[str, Any] | None:
        """The known answer an admin's "mark gold" takes from the kind's aggregate (None without one)."""

    def options_check(self, options: "BuildOptions") -> None: ...

    def candidate_groups(
        self, candidates: Sequence[Candidate], *, options: "BuildOptions", rng: random.Random
    ) -> Iterable[tuple[Candidate, ...]]:
        """Which of one prompt's candidates (critiques included, oldest first) go together in an item."""

    def shuffled_positions(self, count: int, rng: random.Random) -> list[int]:
        """Where each canonical index is shown."""


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
