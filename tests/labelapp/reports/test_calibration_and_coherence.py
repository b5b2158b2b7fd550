"""Reliability bins and ECE by hand; the coherent-but-wrong table on a handful of candidates."""

import math

import pytest

from labelapp.reports.calibration import (
    CalibrationCandidate,
    StatedConfidence,
    calibration_report,
    reliability,
)
from labelapp.reports.coherence import CandidateVerdicts, coherence_report


def test_reliability_bins_and_ece_by_hand():
    # Bin [0.1, 0.2): 0.1 and 0.15, both wrong: confidence 0.125, correct 0. Bin [0.9, 1.0]: 0.9 and 1.0,
    # one right: confidence 0.95, correct 0.5. ECE = 0.5 * 0.125 + 0.5 * 0.45 = 0.2875.
    result = reliability([0.1, 0.15, 0.9, 1.0], [False, False, True, False])
    assert result.ece == pytest.approx(0.2875)
    assert result.count == 4
    low, high = result.bins[1], result.bins[9]
    assert (low.low, low.high, low.count, low.mean_confidence) == (0.1, 0.2, 2, pytest.approx(0.125))
    assert low.correct.rate == 0
    assert (high.count, high.mean_confidence, high.correct.rate) == (2, pytest.approx(0.95), 0.5)
    assert high.correct.low < 0.5 < high.correct.high
    assert [b.count for b in result.bins] == [0, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert result.bins[0].mean_confidence is None and result.bins[0].correct.rate is None


def test_a_perfectly_calibrated_set_has_no_error():
    confidences = [0.25] * 4 + [0.75] * 4
    outcomes = [True, False, False, False, True, True, True, False]
    assert reliability(confidences, outcomes).ece == pytest.approx(0.0)
    assert reliability([], []).ece is None


def test_reliability_rejects_confidences_outside_0_1():
    with pytest.raises(ValueError, match=r"\[0, 1\], got 1.5"):
        reliability([1.5], [True])


def test_calibration_report_uses_exp_mean_logprob_and_counts_what_it_leaves_out():
    candidates = [
        CalibrationCandidate("m", math.log(0.95), True),
        CalibrationCandidate("m", math.log(0.92), False),
        CalibrationCandidate("n", math.log(0.15), False),
        CalibrationCandidate("n", None, True),
        CalibrationCandidate("n", math.log(0.5), None),
    ]
    stated = [
        StatedConfidence("certain", agrees=True, against_gold=True),
        StatedConfidence("certain", agrees=True, against_gold=False),
        StatedConfidence("guessing", agrees=False, against_gold=False),
        StatedConfidence("guessing", agrees=True, against_gold=False),
    ]
    report = calibration_report(candidates, stated)
    assert (report.candidates, report.without_verdict, report.without_logprobs) == (5, 1, 1)
    assert report.model.count == 3
    assert report.model.bins[9].count == 2 and report.model.bins[1].count == 1
    # Bin 9: confidence 0.935, correct 0.5; bin 1: 0.15 vs 0. ECE = (2 * 0.435 + 0.15) / 3.
    assert report.model.ece == pytest.approx((2 * 0.435 + 0.15) / 3)
    assert [g.generator for g in report.by_generator] == ["m", "n"]
    assert report.by_generator[0].model.count == 2
    # Stated confidence read as 0.95 (both right) and 0.55 (one of two right).
    assert report.labeller.count == 4
    assert report.labeller.bins[9].correct.rate == 1.0 and report.labeller.bins[5].correct.rate == 0.5
    assert report.labeller.ece == pytest.approx((2 * 0.05 + 2 * 0.05) / 4)
    certain, probably, guessing = report.labeller_levels
    assert (certain.confidence, certain.probability, certain.agrees.count, certain.agrees.total) == (
        "certain",
        0.95,
        2,
        2,
    )
    assert probably.agrees.total == 0 and probably.agrees.rate is None
    assert (guessing.agrees.count, guessing.agrees.total) == (1, 2)
    assert (report.labels_against_gold, report.labels_against_others) == (1, 3)


def test_coherent_but_wrong_by_generator():
    rows = coherence_report(
        [
            CandidateVerdicts(1, "small", correct=False, coherent=False),
            CandidateVerdicts(2, "small", correct=False, coherent=True),
            CandidateVerdicts(3, "small", correct=False, coherent=True),
            CandidateVerdicts(4, "small", correct=True, coherent=True),
            CandidateVerdicts(5, "small", correct=None, coherent=True),
            CandidateVerdicts(6, "big", correct=True, coherent=True),
            CandidateVerdicts(7, "big", correct=True, coherent=False),
        ]
    )
    big, small = rows
    assert small.generator == "small" and small.judged == 4 and small.missing_verdict == 1
    assert (small.incoherent.count, small.coherent_but_wrong.count, small.correct.count) == (1, 2, 1)
    assert small.coherent_but_wrong.rate == 0.5
    assert small.coherent_but_wrong.low < 0.5 < small.coherent_but_wrong.high
    assert small.coherent_but_wrong_ids == (2, 3)
    assert (big.incoherent.count, big.correct.count, big.incoherent_but_correct) == (1, 1, 1)
    assert big.coherent_but_wrong.rate == 0.0
