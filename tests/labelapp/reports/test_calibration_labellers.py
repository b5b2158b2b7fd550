import pytest

from labelapp.reports.calibration import labeller_calibration, labeller_calibration_report


def answers(level: str, right: int, total: int) -> list[tuple[str, bool]]:
    return [(level, n < right) for n in range(total)]


def test_a_labellers_levels_and_ece_against_gold():
    # certain 9 of 10 right (read as 0.95: gap 0.05), probably 2 of 4 (0.75: 0.25), guessing 3 of 6 (0.55: 0.05)
    stated = answers("certain", 9, 10) + answers("probably", 2, 4) + answers("guessing", 3, 6)
    calibration = labeller_calibration("ann", stated)
    assert calibration.gold_labels == 20
    assert [
        (lv.confidence, lv.probability, lv.agrees.count, lv.agrees.total) for lv in calibration.levels
    ] == [
        ("certain", 0.95, 9, 10),
        ("probably", 0.75, 2, 4),
        ("guessing", 0.55, 3, 6),
    ]
    assert calibration.reliability.ece == pytest.approx((10 * 0.05 + 4 * 0.25 + 6 * 0.05) / 20)  # 0.09


def test_a_level_never_used_is_empty_and_a_labeller_right_as_often_as_stated_has_no_gap():
    calibration = labeller_calibration("bo", answers("probably", 3, 4))
    assert [lv.agrees.total for lv in calibration.levels] == [0, 4, 0]
    assert calibration.levels[0].agrees.rate is None
    assert calibration.reliability.ece == pytest.approx(0.0)


def test_the_report_has_each_labeller_by_name_and_everyone_pooled():
    stated = [("zed", "certain", False), ("ann", "certain", True), ("ann", "guessing", True)]
    report = labeller_calibration_report(stated, item_kind="pairwise", without_confidence=2)
    assert [entry.labeller for entry in report.labellers] == ["ann", "zed"]
    assert report.labellers[1].reliability.ece == pytest.approx(0.95)
    assert report.labellers[0].reliability.ece == pytest.approx((0.05 + 0.45) / 2)
    assert report.pooled.count == 3 and report.pooled.ece == pytest.approx(
        (2 * 0.45 + 0.45) / 3
    )  # certain: 1 of 2 right
    assert (report.gold_labels_without_confidence, report.stated_confidence["guessing"]) == (2, 0.55)
