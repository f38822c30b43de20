"""Calibrating a head's probabilities, and measuring how well they are calibrated.

A linear model trained on a generated corpus is sure of what it has seen: its most probable
group has probability 0.9 where it is right two times out of three on real appeals. Temperature
scaling (dividing the scores by one number T before the softmax) keeps every decision and only
makes the probabilities honest. T is fitted on predictions for examples the head did not learn
from; which examples those are is the trainer's choice (:func:`classifier.model.fit_text_models`
holds out whole topics, the nearest thing to a new region's phrasings that the seed corpus has).

The measuring side serves the docs and ``incident-management evaluate``: the reliability table
(confidence bins against the accuracy in them), the expected calibration error, and the accuracy
on the share of messages kept at each confidence threshold (the rest going to triage).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CoveragePoint",
    "ReliabilityBin",
    "coverage_curve",
    "expected_calibration_error",
    "fit_temperature",
    "reliability_bins",
    "softmax",
]

#: The temperatures searched (log-spaced); 1.0 leaves the scores as they are.
MIN_TEMPERATURE = 0.25
MAX_TEMPERATURE = 16.0


def softmax(scores: np.ndarray[Any, Any], temperature: float = 1.0) -> np.ndarray[Any, Any]:
    """Return the row-wise softmax of ``scores / temperature`` (a new float64 array)."""
    scaled = np.asarray(scores, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    np.exp(scaled, out=scaled)
    scaled /= scaled.sum(axis=1, keepdims=True)
    return scaled


def _nll(scores: np.ndarray[Any, Any], truth: np.ndarray[Any, Any], temperature: float) -> float:
    scaled = np.asarray(scores, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(scaled).sum(axis=1))
    picked = scaled[np.arange(len(truth)), truth]
    return float(np.mean(log_norm - picked))


def fit_temperature(scores: np.ndarray[Any, Any], truth: Sequence[int]) -> float:
    """Return the temperature that minimises the log loss of ``softmax(scores / T)``.

    ``scores``: (examples x classes) decision scores of held-out examples; ``truth``: the
    column of each one's true class. A golden-section search over log T within
    [MIN_TEMPERATURE, MAX_TEMPERATURE] (the log loss is unimodal in T).

    Raises:
        ValueError: on no examples, or a true class outside the columns.
    """
    labels = np.asarray(truth, dtype=np.intp)
    if scores.ndim != 2 or len(labels) == 0 or len(labels) != scores.shape[0]:
        raise ValueError("temperature needs one row of scores per held-out example")
    if labels.min() < 0 or labels.max() >= scores.shape[1]:
        raise ValueError("a true class is outside the score columns")
    lo, hi = math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = _nll(scores, labels, math.exp(a)), _nll(scores, labels, math.exp(b))
    for _ in range(40):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = _nll(scores, labels, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = _nll(scores, labels, math.exp(b))
    return round(math.exp((lo + hi) / 2.0), 4)


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """Messages whose confidence fell in [low, high): how many, how sure, how often right."""

    low: float
    high: float
    n: int
    mean_confidence: float
    accuracy: float


def reliability_bins(
    confidences: Sequence[float], correct: Sequence[bool], *, bins: int = 10
) -> list[ReliabilityBin]:
    """Return the reliability table: equal-width confidence bins (the last one closed)."""
    if len(confidences) != len(correct):
        raise ValueError("confidences and outcomes differ in length")
    if bins < 1:
        raise ValueError("at least one bin")
    conf = np.asarray(confidences, dtype=np.float64)
    hit = np.asarray(correct, dtype=bool)
    index = np.minimum((conf * bins).astype(np.intp), bins - 1)
    out: list[ReliabilityBin] = []
    for i in range(bins):
        mask = index == i
        n = int(mask.sum())
        out.append(
            ReliabilityBin(
                low=i / bins,
                high=(i + 1) / bins,
                n=n,
                mean_confidence=float(conf[mask].mean()) if n else 0.0,
                accuracy=float(hit[mask].mean()) if n else 0.0,
            )
        )
    return out


def expected_calibration_error(table: Sequence[ReliabilityBin]) -> float:
    """Return the mean |accuracy - confidence| over the bins, weighted by their size."""
    total = sum(b.n for b in table)
    if total == 0:
        return 0.0
    return sum(b.n * abs(b.accuracy - b.mean_confidence) for b in table) / total


@dataclass(frozen=True, slots=True)
class CoveragePoint:
    """At ``threshold``: the share of messages kept (routed) and the accuracy among them."""

    threshold: float
    coverage: float
    accuracy: float
    kept: int


def coverage_curve(
    confidences: Sequence[float],
    correct: Sequence[bool],
    thresholds: Sequence[float] = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99),
) -> list[CoveragePoint]:
    """Return, per threshold, the share with confidence >= it and their accuracy."""
    if len(confidences) != len(correct):
        raise ValueError("confidences and outcomes differ in length")
    conf = np.asarray(confidences, dtype=np.float64)
    hit = np.asarray(correct, dtype=bool)
    n = max(len(conf), 1)
    points: list[CoveragePoint] = []
    for threshold in thresholds:
        mask = conf >= threshold
        kept = int(mask.sum())
        points.append(
            CoveragePoint(
                threshold=threshold,
                coverage=kept / n,
                accuracy=float(hit[mask].mean()) if kept else 0.0,
                kept=kept,
            )
        )
    return points
