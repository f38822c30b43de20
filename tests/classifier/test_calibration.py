"""Temperature scaling, the reliability table and accuracy per coverage (calibration.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from classifier.calibration import (
    MAX_TEMPERATURE,
    coverage_curve,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
    softmax,
)


def _sample(
    true_temperature: float, n: int = 4000, classes: int = 5
) -> tuple[np.ndarray, list[int]]:
    """Scores whose classes are drawn from softmax(scores / true_temperature)."""
    rng = np.random.default_rng(7)
    scores = rng.normal(0.0, 3.0, size=(n, classes))
    p = softmax(scores, true_temperature)
    truth = [int(rng.choice(classes, p=row)) for row in p]
    return scores, truth


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 2.5])
def test_fit_temperature_recovers_the_temperature_that_made_the_labels(
    true_temperature: float,
) -> None:
    scores, truth = _sample(true_temperature)
    assert fit_temperature(scores, truth) == pytest.approx(true_temperature, rel=0.12)


def test_an_overconfident_head_is_softened_and_its_error_falls() -> None:
    scores, truth = _sample(2.0)
    raw = softmax(scores)
    t = fit_temperature(scores, truth)
    calibrated = softmax(scores, t)

    def ece(p: np.ndarray[Any, Any]) -> float:
        best = p.argmax(axis=1)
        conf = p[np.arange(len(best)), best]
        return expected_calibration_error(reliability_bins(conf, best == np.asarray(truth)))

    assert t > 1.0
    assert ece(calibrated) < ece(raw) / 2
    # Scaling keeps every decision.
    assert (calibrated.argmax(axis=1) == raw.argmax(axis=1)).all()


def test_fit_temperature_stays_within_its_range_and_refuses_bad_input() -> None:
    # Labels unrelated to the scores: the flattest allowed distribution fits best.
    rng = np.random.default_rng(1)
    scores = rng.normal(0.0, 5.0, size=(500, 4))
    truth = rng.integers(0, 4, size=500).tolist()
    assert fit_temperature(scores, truth) == pytest.approx(MAX_TEMPERATURE, rel=0.05)
    with pytest.raises(ValueError, match="one row"):
        fit_temperature(scores, truth[:-1])
    with pytest.raises(ValueError, match="outside"):
        fit_temperature(scores[:2], [0, 4])


def test_softmax_rows_sum_to_one_without_overflow() -> None:
    p = softmax(np.asarray([[1000.0, 0.0], [0.0, 0.0]]), 0.5)
    assert p.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert p[0, 0] == pytest.approx(1.0)
    assert p[1, 0] == pytest.approx(0.5)


def test_reliability_bins_and_calibration_error() -> None:
    conf = [0.05, 0.15, 0.95, 0.95, 1.0, 0.55]
    hit = [False, True, True, False, True, True]
    table = reliability_bins(conf, hit, bins=10)
    assert [b.n for b in table] == [1, 1, 0, 0, 0, 1, 0, 0, 0, 3]
    top = table[-1]
    assert top.mean_confidence == pytest.approx((0.95 + 0.95 + 1.0) / 3)
    assert top.accuracy == pytest.approx(2 / 3)
    expected = (0.05 + 0.85 + 0.45 + 3 * abs(2 / 3 - top.mean_confidence)) / 6
    assert expected_calibration_error(table) == pytest.approx(expected)
    assert expected_calibration_error(reliability_bins([], [])) == 0.0
    with pytest.raises(ValueError, match="length"):
        reliability_bins([0.5], [])


def test_coverage_curve_counts_what_each_threshold_keeps() -> None:
    conf = [0.9, 0.8, 0.6, 0.4, 0.2]
    hit = [True, True, False, True, False]
    points = coverage_curve(conf, hit, thresholds=(0.0, 0.5, 0.85, 0.95))
    assert [(p.kept, p.coverage) for p in points] == [(5, 1.0), (3, 0.6), (1, 0.2), (0, 0.0)]
    assert [p.accuracy for p in points] == [pytest.approx(0.6), pytest.approx(2 / 3), 1.0, 0.0]
