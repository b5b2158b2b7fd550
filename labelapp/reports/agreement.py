"""Inter-labeller agreement: Krippendorff's alpha over any number of labellers, with missing labels.

Alpha is 1 for perfect agreement, 0 for agreement no better than chance, and negative for systematic
disagreement. It compares the disagreement observed within units (items) with the disagreement expected
from how often each value is used overall (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability").
"""

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import krippendorff
import numpy as np

Level = Literal["nominal", "ordinal"]


@dataclass(frozen=True)
class AgreementResult:
    alpha: float | None  # None when undefined: see krippendorff_alpha
    items: int  # units with at least two values, the only ones alpha is computed from
    labels: int  # values in those units


def krippendorff_alpha(
    *,
    units: Mapping[Hashable, Sequence[Hashable]],
    level: Level = "nominal",
    value_order: Sequence[Hashable] | None = None,
) -> AgreementResult:
    """Krippendorff's alpha of the values given to each unit, at a nominal or ordinal level.

    `units` maps a unit id (an item) to the values its labellers gave, in any order. Alpha depends only on
    how many times each value was given to each unit, not on who gave it, so the reliability matrix
    (labellers x units, NaN where a labeller gave no value) is built with the i-th value of each unit in
    row i. Only units with at least two values can be paired and count; the others are left out of
    `items` and `labels`.

    `value_order` lists the possible values: required for "ordinal" (lowest first), optional for "nominal".
    Values that the data never uses still matter for ordinal distances only through the values between
    them, which is how Krippendorff defines them. A value outside `value_order` raises ValueError.

    `alpha` is None, meaning undefined rather than zero, when fewer than two units have two or more values,
    or when the values in those units do not vary (all labels the same value): expected disagreement is
    then zero, and alpha would be 0/0.
    """
    if level not in ("nominal", "ordinal"):
        raise ValueError(f"level must be 'nominal' or 'ordinal', not {level!r}.")
    if level == "ordinal" and value_order is None:
        raise ValueError("An ordinal alpha needs value_order, lowest value first.")
    pairable = [list(values) for values in units.values() if len(values) >= 2]
    labels = sum(len(values) for values in pairable)
    if len(pairable) < 2:
        return AgreementResult(alpha=None, items=len(pairable), labels=labels)

    domain: list[Hashable] = list(value_order) if value_order is not None else []
    if value_order is None:
        for values in pairable:
            domain.extend(v for v in values if v not in domain)
    index = {value: position for position, value in enumerate(domain)}
    unknown = {v for values in pairable for v in values if v not in index}
    if unknown:
        raise ValueError(f"Value(s) {sorted(map(repr, unknown))} are not in value_order {list(domain)!r}.")
    if len({v for values in pairable for v in values}) < 2:
        return AgreementResult(alpha=None, items=len(pairable), labels=labels)

    matrix = np.full((max(len(values) for values in pairable), len(pairable)), np.nan)
    for column, values in enumerate(pairable):
        matrix[: len(values), column] = [index[v] for v in values]
    alpha = krippendorff.alpha(
        reliability_data=matrix, value_domain=np.arange(len(domain)), level_of_measurement=level
    )
    return AgreementResult(alpha=float(alpha), items=len(pairable), labels=labels)


@dataclass(frozen=True)
class KappaResult:
    kappa: float | None  # None when undefined: no items, or both raters always gave one same value
    items: int
    agreed: int  # items where the two raters gave the same value
    observed_agreement: float | None
    expected_agreement: float | None  # by chance, from each rater's own value frequencies
    confusion: tuple[tuple[int, ...], ...]  # [first rater's value][second rater's value], in `values` order
    values: tuple[Hashable, ...]


def cohen_kappa(
    pairs: Sequence[tuple[Hashable, Hashable]], *, values: Sequence[Hashable] | None = None
) -> KappaResult:
    """Cohen's kappa between two raters, from the (first, second) value each gave to the same items.

    kappa = (p_o - p_e) / (1 - p_e): p_o the share of items they agree on, p_e the share expected if each
    picked values independently at their own rates (Cohen 1960). `values` fixes the confusion matrix's
    order (and may list values nobody used); by default the values seen, sorted by their text.
    """
    seen = {value for pair in pairs for value in pair}
    domain = list(values) if values is not None else sorted(seen, key=str)
    unknown = seen - set(domain)
    if unknown:
        raise ValueError(f"Value(s) {sorted(map(repr, unknown))} are not in values {domain!r}.")
    index = {value: position for position, value in enumerate(domain)}
    confusion = np.zeros((len(domain), len(domain)), dtype=int)
    for first, second in pairs:
        confusion[index[first], index[second]] += 1
    items, agreed = int(confusion.sum()), int(np.trace(confusion))
    observed = expected = kappa = None
    if items:
        observed = agreed / items
        expected = float(confusion.sum(axis=1) @ confusion.sum(axis=0)) / items**2
        kappa = None if expected == 1 else (observed - expected) / (1 - expected)
    return KappaResult(
        kappa=kappa,
        items=items,
        agreed=agreed,
        observed_agreement=observed,
        expected_agreement=expected,
        confusion=tuple(tuple(int(c) for c in row) for row in confusion),
        values=tuple(domain),
    )
