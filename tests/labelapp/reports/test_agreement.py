"""Krippendorff's alpha and Cohen's kappa on textbook data and on cases small enough to compute by hand."""

import pytest

from labelapp.reports.agreement import AgreementResult, cohen_kappa, krippendorff_alpha

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four observers, twelve units,
# values 1-5, missing data ("." = the observer gave no value). The paper reports alpha nominal = .743,
# ordinal = .815. Unit 12 has one value only and cannot be paired.
OBSERVERS = {
    "A": "1 2 3 3 2 1 4 1 2 . . .",
    "B": "1 2 3 3 2 2 4 1 2 5 . 3",
    "C": ". 3 3 3 2 3 4 2 2 5 1 .",
    "D": "1 2 3 3 2 4 4 1 2 5 1 .",
}


def _paper_units() -> dict[int, list[int]]:
    units: dict[int, list[int]] = {unit: [] for unit in range(1, 13)}
    for row in OBSERVERS.values():
        for unit, value in enumerate(row.split(), start=1):
            if value != ".":
                units[unit].append(int(value))
    return units


def test_the_papers_nominal_example_is_0_743():
    result = krippendorff_alpha(units=_paper_units(), level="nominal")
    assert result.alpha == pytest.approx(0.743, abs=5e-4)
    # The paper's n: 40 pairable values in 11 units (unit 12 has one value).
    assert (result.items, result.labels) == (11, 40)


def test_the_papers_ordinal_example_is_0_815():
    result = krippendorff_alpha(units=_paper_units(), level="ordinal", value_order=[1, 2, 3, 4, 5])
    assert result.alpha == pytest.approx(0.815, abs=5e-4)


def test_a_nominal_case_by_hand():
    # Units {a,a}, {b,b}, {a,b}: n = 6, n_a = n_b = 3, one a-b pair in each direction (o_ab = o_ba = 1).
    # alpha = 1 - (n - 1) * (o_ab + o_ba) / (n_a n_b + n_b n_a) = 1 - 5 * 2 / 18 = 4/9.
    result = krippendorff_alpha(units={1: ["a", "a"], 2: ["b", "b"], 3: ["a", "b"]}, level="nominal")
    assert result == AgreementResult(alpha=pytest.approx(4 / 9), items=3, labels=6)


def test_an_ordinal_case_by_hand():
    # Units {slight,slight}, {strong,strong}, {slight,clear}: n_slight = 3, n_clear = 1, n_strong = 2, n = 6.
    # Ordinal distance d(c,k) = (sum of n_g from c to k - (n_c + n_k) / 2)^2:
    #   d(slight,clear) = (4 - 2)^2 = 4, d(slight,strong) = (6 - 2.5)^2 = 12.25, d(clear,strong) = (3 - 1.5)^2 = 2.25.
    # Observed: one slight-clear pair each way: 2 * 4 = 8.
    # Expected: 2 * (3*1*4 + 3*2*12.25 + 1*2*2.25) = 180. alpha = 1 - (n - 1) * 8 / 180 = 1 - 40/180 = 7/9.
    result = krippendorff_alpha(
        units={1: ["slight", "slight"], 2: ["strong", "strong"], 3: ["slight", "clear"]},
        level="ordinal",
        value_order=["slight", "clear", "strong"],
    )
    assert result.alpha == pytest.approx(7 / 9)


def test_ordinal_counts_a_far_disagreement_worse_than_a_near_one():
    order = ["slight", "clear", "strong"]
    agreed = {1: ["slight", "slight"], 2: ["clear", "clear"], 3: ["strong", "strong"]}
    near = krippendorff_alpha(units={**agreed, 4: ["slight", "clear"]}, level="ordinal", value_order=order)
    far = krippendorff_alpha(units={**agreed, 4: ["slight", "strong"]}, level="ordinal", value_order=order)
    nominal_near = krippendorff_alpha(units={**agreed, 4: ["slight", "clear"]}, level="nominal")
    nominal_far = krippendorff_alpha(units={**agreed, 4: ["slight", "strong"]}, level="nominal")
    assert far.alpha < near.alpha
    assert nominal_far.alpha == pytest.approx(nominal_near.alpha)


def test_perfect_agreement_is_1():
    result = krippendorff_alpha(units={1: ["a", "a", "a"], 2: ["b", "b"]}, level="nominal")
    assert result.alpha == pytest.approx(1.0)


def test_units_with_one_label_do_not_count():
    with_singles = krippendorff_alpha(
        units={1: ["a", "a"], 2: ["b", "b"], 3: ["a", "b"], 4: ["b"], 5: []}, level="nominal"
    )
    assert with_singles == AgreementResult(alpha=pytest.approx(4 / 9), items=3, labels=6)


@pytest.mark.parametrize(
    ("units", "items", "labels"),
    [
        ({}, 0, 0),
        ({1: ["a"], 2: ["b"]}, 0, 0),  # nothing can be paired
        ({1: ["a", "b"], 2: ["a"]}, 1, 2),  # one pairable unit is not enough
        ({1: ["a", "a"], 2: ["a", "a", "a"]}, 2, 5),  # no variation: expected disagreement is 0
    ],
)
def test_alpha_is_none_when_undefined(units, items, labels):
    result = krippendorff_alpha(units=units, level="nominal", value_order=["a", "b"])
    assert result == AgreementResult(alpha=None, items=items, labels=labels)


def test_no_variation_is_undefined_at_the_ordinal_level_too():
    result = krippendorff_alpha(
        units={1: ["clear", "clear"], 2: ["clear", "clear"]}, level="ordinal", value_order=["slight", "clear"]
    )
    assert result == AgreementResult(alpha=None, items=2, labels=4)


def test_ordinal_needs_an_order_and_values_must_be_in_it():
    with pytest.raises(ValueError, match="value_order"):
        krippendorff_alpha(units={1: [1, 2], 2: [2, 2]}, level="ordinal", value_order=None)
    with pytest.raises(ValueError, match="'huge'"):
        krippendorff_alpha(
            units={1: ["slight", "huge"], 2: ["slight", "slight"]}, level="ordinal", value_order=["slight"]
        )


def test_cohen_kappa_textbook_example():
    # 50 items, two raters (the example on Wikipedia's "Cohen's kappa" page): both yes 20, both no 15,
    # yes/no 5, no/yes 10. p_o = 35/50 = 0.7; rater 1 says yes 25/50, rater 2 30/50:
    # p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    result = cohen_kappa(pairs, values=["yes", "no"])
    assert result.kappa == pytest.approx(0.4)
    assert (result.items, result.agreed) == (50, 35)
    assert result.observed_agreement == pytest.approx(0.7)
    assert result.expected_agreement == pytest.approx(0.5)
    assert result.confusion == ((20, 5), (10, 15))


def test_cohen_kappa_perfect_chance_and_undefined():
    assert cohen_kappa([("a", "a"), ("b", "b")]).kappa == pytest.approx(1.0)
    # Agreement exactly at chance: p_o = 0.5, p_e = 0.5.
    assert cohen_kappa([("a", "a"), ("a", "b"), ("b", "a"), ("b", "b")]).kappa == pytest.approx(0.0)
    # Both raters always say "a": p_e = 1, kappa undefined rather than 0/0.
    assert cohen_kappa([("a", "a"), ("a", "a")]).kappa is None
    assert cohen_kappa([]).kappa is None


def test_cohen_kappa_names_values_outside_the_list():
    with pytest.raises(ValueError, match="'tie'"):
        cohen_kappa([("a", "tie")], values=["a", "b"])
