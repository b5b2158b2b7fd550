import pytest

from labelapp.reports.position_bias import (
    PositionDecision,
    first_pick_p_value,
    holm_adjusted,
    position_bias_report,
)


@pytest.mark.parametrize(
    ("firsts", "chances", "expected"),
    [
        (15, [0.5] * 20, 2 * 21700 / 2**20),  # 2 P(X >= 15), X ~ Bin(20, 1/2): C(20,15..20) sum to 21700
        (5, [0.5] * 20, 2 * 21700 / 2**20),  # as far below as 15 is above
        (10, [0.5] * 20, 1.0),
        (20, [0.5] * 20, 2 / 2**20),
        (8, [0.25] * 10, (45 * 9 + 10 * 3 + 1) / 4**10),  # ranking of 4: only 8, 9, 10 are as unlikely
        (2, [0.5, 0.25], 0.125),  # Poisson binomial: P = 0.375, 0.5, 0.125 for 0, 1, 2 firsts
        (0, [0.5, 0.25], 0.5),  # 0 and 2 are no more likely than 0
        (0, [], 1.0),
    ],
)
def test_exact_two_sided_p_values(firsts, chances, expected):
    assert first_pick_p_value(chances, firsts) == pytest.approx(expected, rel=1e-9)


def test_the_poisson_binomial_agrees_with_the_binomial_when_every_chance_is_the_same():
    nearly_equal = [0.5 + 1e-12 * (n % 2) for n in range(30)]
    for firsts in (3, 9, 15, 22):
        assert first_pick_p_value(nearly_equal, firsts) == pytest.approx(
            first_pick_p_value([0.5] * 30, firsts), rel=1e-6
        )


def test_holm_steps_down_and_keeps_the_order():
    assert holm_adjusted([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjusted([0.5, 0.9]) == [1.0, 1.0]
    assert holm_adjusted([]) == []


def decisions(rater, firsts, total, *, kind="labeller", chance=0.5):
    return [PositionDecision(rater, kind, n < firsts, chance) for n in range(total)]


def test_the_raters_to_look_at_are_those_below_alpha_after_holm():
    report = position_bias_report(
        decisions("ann", 15, 20)
        + decisions("bob", 10, 20)
        + decisions("cy", 20, 20)
        + decisions("judge-model", 4, 20, kind="judge"),
        item_kind="pairwise",
        labels_without_position=3,
    )
    rows = {(r.rater_kind, r.rater): r for r in report.raters}
    assert [(r.rater_kind, r.rater) for r in report.raters] == [
        ("labeller", "ann"),
        ("labeller", "bob"),
        ("labeller", "cy"),
        ("judge", "judge-model"),
    ]
    ann = rows[("labeller", "ann")]
    assert (ann.decisions, ann.first.count, ann.first.rate, ann.expected) == (20, 15, 0.75, 0.5)
    assert ann.p_value == pytest.approx(0.0413894653, rel=1e-8)
    # Holm over four raters: cy x4, then the judge (p = 0.0118) x3, ann x2, bob x1
    judge_p = 2 * (1 + 20 + 190 + 1140 + 4845) / 2**20
    assert rows[("judge", "judge-model")].p_adjusted == pytest.approx(3 * judge_p)
    assert ann.p_adjusted == pytest.approx(2 * 0.0413894653)
    assert rows[("labeller", "cy")].p_adjusted == pytest.approx(4 * 2 / 2**20)
    assert rows[("labeller", "bob")].p_adjusted == 1.0
    assert report.look_at == ("cy", "judge-model")  # ann's 0.083 is not below 0.05 after correction
    assert (report.correction, report.alpha, report.labels_without_position) == ("Holm", 0.05, 3)
