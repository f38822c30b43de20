"""Evaluation: per-group precision/recall/F1, confusion matrix, and the SPb learning curve."""

from __future__ import annotations

import csv
import gzip
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from classifier.calibration import (
    CoveragePoint,
    ReliabilityBin,
    coverage_curve,
    expected_calibration_error,
    reliability_bins,
)
from classifier.corpus import SeedExample
from classifier.model import ModelSpec, TextModels
from classifier.noise import NoiseMessage, NoiseReport, noise_report
from classifier.rubricator import Rubricator
from classifier.train import Lemmatize, OperatorLabel, train

__all__ = [
    "SPB_FILE",
    "Appeal",
    "CalibrationReport",
    "ClassScore",
    "Confusion",
    "CurvePoint",
    "EvaluationDataError",
    "GroupReport",
    "calibration_report",
    "evaluate_models",
    "evaluate_noise",
    "format_calibration",
    "format_confusion",
    "format_confusions",
    "format_curve",
    "format_report",
    "group_report",
    "learning_curve",
    "load_spb_appeals",
    "load_spb_mapping",
    "top_confusions",
]

logger = logging.getLogger(__name__)

SPB_FILE = "spb_appeals_2020_2021.csv.gz"
_MAPPING_PACKAGE = "classifier.data.rubricator"
_MAPPING_FILE = "spb-nash-peterburg.json"
OTHER = "(other)"


class EvaluationDataError(FileNotFoundError):
    """The evaluation data set is missing or unreadable."""


@dataclass(frozen=True, slots=True)
class ClassScore:
    """Precision, recall and F1 of one class, with its number of true examples."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class GroupReport:
    """Scores of group predictions against the truth.

    ``labels`` are the groups present in the truth (macro-F1 averages over them); the confusion
    matrix has one row per true label and one column per label plus ``(other)`` for predictions
    outside them.
    """

    labels: tuple[str, ...]
    per_class: tuple[ClassScore, ...]
    macro_f1: float
    accuracy: float
    n: int
    confusion: tuple[tuple[int, ...], ...]

    def to_json(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "per_class": {
                c.label: {
                    "precision": round(c.precision, 4),
                    "recall": round(c.recall, 4),
                    "f1": round(c.f1, 4),
                    "support": c.support,
                }
                for c in self.per_class
            },
        }


def group_report(truth: Sequence[str], predicted: Sequence[str | None]) -> GroupReport:
    """Score predicted labels against true ones (macro-F1 over the labels in the truth)."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    labels = tuple(sorted(set(truth)))
    index = {label: i for i, label in enumerate(labels)}
    other = len(labels)
    matrix = [[0] * (len(labels) + 1) for _ in labels]
    for t, p in zip(truth, predicted, strict=True):
        matrix[index[t]][index.get(p, other) if p is not None else other] += 1
    scores: list[ClassScore] = []
    for i, label in enumerate(labels):
        tp = matrix[i][i]
        support = sum(matrix[i])
        predicted_n = sum(row[i] for row in matrix)
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(ClassScore(label, precision, recall, f1, support))
    n = len(truth)
    correct = sum(matrix[i][i] for i in range(len(labels)))
    return GroupReport(
        labels=labels,
        per_class=tuple(scores),
        macro_f1=sum(s.f1 for s in scores) / len(scores) if scores else 0.0,
        accuracy=correct / n if n else 0.0,
        n=n,
        confusion=tuple(tuple(row) for row in matrix),
    )


def format_report(report: GroupReport) -> str:
    """Render per-group precision/recall/F1, accuracy and macro-F1 as a text table."""
    width = max([len(label) for label in report.labels] + [5])
    lines = [f"{'group':<{width}}  precision  recall     f1  support"]
    for s in report.per_class:
        lines.append(
            f"{s.label:<{width}}  {s.precision:9.3f}  {s.recall:6.3f}  {s.f1:5.3f}  {s.support:7d}"
        )
    lines.append(f"{'accuracy':<{width}}  {report.accuracy:9.3f}  (n={report.n})")
    lines.append(f"{'macro-F1':<{width}}  {report.macro_f1:9.3f}")
    return "\n".join(lines)


def format_confusion(report: GroupReport) -> str:
    """Render the confusion matrix (rows: truth, columns: prediction), labels numbered."""
    names = [*report.labels, OTHER]
    lines = ["      " + " ".join(f"{f'[{i}]':>6}" for i in range(len(names)))]
    for i, row in enumerate(report.confusion):
        lines.append(f"{f'[{i}]':>5} " + " ".join(f"{v:>6d}" for v in row))
    lines.extend(f"  [{i}] {name}" for i, name in enumerate(names))
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Confusion:
    """``n`` messages of group ``truth`` filed under ``predicted``: ``share`` of that group."""

    truth: str
    predicted: str
    n: int
    share: float


def top_confusions(report: GroupReport, limit: int = 10) -> list[Confusion]:
    """Return the largest off-diagonal cells of the confusion matrix, largest first."""
    names = [*report.labels, OTHER]
    cells: list[Confusion] = []
    for i, row in enumerate(report.confusion):
        support = sum(row)
        for j, n in enumerate(row):
            if i != j and n:
                cells.append(Confusion(report.labels[i], names[j], n, n / support))
    cells.sort(key=lambda c: (-c.n, c.truth, c.predicted))
    return cells[:limit]


def format_confusions(confusions: Sequence[Confusion]) -> str:
    """Render the top confusions as lines "truth -> predicted  n  share of the truth's group"."""
    if not confusions:
        return "(no confusions)"
    width = max(len(c.truth) for c in confusions)
    return "\n".join(
        f"{c.truth:<{width}} -> {c.predicted}  {c.n}  ({c.share:.1%} of {c.truth})"
        for c in confusions
    )


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    """How well the group confidence is calibrated, and what a triage threshold keeps."""

    bins: tuple[ReliabilityBin, ...]
    ece: float
    coverage: tuple[CoveragePoint, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return {
            "ece": round(self.ece, 4),
            "bins": [
                {
                    "low": b.low,
                    "high": b.high,
                    "n": b.n,
                    "confidence": round(b.mean_confidence, 4),
                    "accuracy": round(b.accuracy, 4),
                }
                for b in self.bins
            ],
            "coverage": [
                {
                    "threshold": c.threshold,
                    "coverage": round(c.coverage, 4),
                    "accuracy": round(c.accuracy, 4),
                }
                for c in self.coverage
            ],
        }


def calibration_report(confidences: Sequence[float], correct: Sequence[bool]) -> CalibrationReport:
    """Return the reliability table, its calibration error and the accuracy per coverage."""
    bins = reliability_bins(confidences, correct)
    return CalibrationReport(
        bins=tuple(bins),
        ece=expected_calibration_error(bins),
        coverage=tuple(coverage_curve(confidences, correct)),
    )


def format_calibration(report: CalibrationReport) -> str:
    """Render the reliability table and the accuracy kept at each threshold."""
    lines = ["confidence      n  mean-conf  accuracy"]
    for b in report.bins:
        if b.n:
            lines.append(
                f"{b.low:.1f}-{b.high:.1f}  {b.n:7d}  {b.mean_confidence:9.3f}  {b.accuracy:8.3f}"
            )
    lines.append(f"expected calibration error {report.ece:.3f}")
    lines.append("threshold  routed  accuracy-of-routed")
    for c in report.coverage:
        lines.append(f"{c.threshold:9.2f}  {c.coverage:6.1%}  {c.accuracy:18.3f}")
    return "\n".join(lines)


# --- The St Petersburg appeals ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Appeal:
    """One labelled appeal of the SPb portal, mapped to our rubricator."""

    text: str
    group: str
    topic: str
    category: str
    reason: str


def load_spb_mapping(path: Path | None = None) -> dict[tuple[str, str], tuple[str, str]]:
    """Load the table (category, reason) of the SPb portal -> (group, topic) of our rubricator."""
    if path is None:
        text = resources.files(_MAPPING_PACKAGE).joinpath(_MAPPING_FILE).read_text("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    rows = json.loads(text)["mapping"]
    return {(r["category"], r["reason"]): (r["group"], r["topic"]) for r in rows}


def load_spb_appeals(
    directory: Path, *, mapping: dict[tuple[str, str], tuple[str, str]] | None = None
) -> tuple[list[Appeal], Counter[tuple[str, str]]]:
    """Read the SPb appeals from ``directory`` (never copied into the project).

    Returns the appeals whose category and reason the mapping knows, and a count of the
    (category, reason) pairs it does not know.

    Raises:
        EvaluationDataError: when the data file is missing or unreadable.
    """
    path = directory / SPB_FILE
    if not path.is_file():
        raise EvaluationDataError(f"evaluation data not found: {path} is missing")
    mapping = mapping if mapping is not None else load_spb_mapping()
    appeals: list[Appeal] = []
    unmapped: Counter[tuple[str, str]] = Counter()
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                text = (row.get("text") or "").strip()
                key = (row.get("category") or "", row.get("reason") or "")
                if not text:
                    continue
                target = mapping.get(key)
                if target is None:
                    unmapped[key] += 1
                    continue
                appeals.append(Appeal(text, target[0], target[1], key[0], key[1]))
    except (OSError, EOFError, csv.Error, UnicodeDecodeError) as err:
        raise EvaluationDataError(f"evaluation data {path} is unreadable: {err}") from err
    return appeals, unmapped


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """Scores after ``labels`` operator corrections, on the appeals none of them came from."""

    labels: int
    report: GroupReport
    topic_accuracy: float
    complaint_recall: float
    train_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def evaluate_models(
    models: TextModels, docs: Sequence[str], appeals: Sequence[Appeal]
) -> tuple[GroupReport, float, float]:
    """Score models on lemma documents of appeals: group report, topic accuracy, complaint recall.

    Every appeal is a complaint, so the share called one is the complaint recall.
    """
    report, topic_accuracy, complaint_recall, _ = _score(models, docs, appeals)
    return report, topic_accuracy, complaint_recall


def _score(
    models: TextModels, docs: Sequence[str], appeals: Sequence[Appeal]
) -> tuple[GroupReport, float, float, CalibrationReport]:
    predictions = models.predict(docs, evidence=False, texts=[a.text for a in appeals])
    report = group_report([a.group for a in appeals], [p.group for p in predictions])
    n = max(len(appeals), 1)
    topic_hits = sum(p.topic == a.topic for p, a in zip(predictions, appeals, strict=True))
    complaints = sum(p.is_complaint for p in predictions)
    calibration = calibration_report(
        [p.group_confidence for p in predictions],
        [p.group == a.group for p, a in zip(predictions, appeals, strict=True)],
    )
    return report, topic_hits / n, complaints / n, calibration


def evaluate_noise(
    models: TextModels, messages: Sequence[NoiseMessage], *, lemmatize: Lemmatize
) -> NoiseReport:
    """Score models on the measured noise set: complaint P/R, and a row per kind.

    Each message is read as what it is in its thread (a post, or a comment or reply under one),
    as the pipeline reads it.
    """
    docs = [" ".join(lemmatize(m.text)) for m in messages]
    comments = [m.role != "post" for m in messages]
    texts = [m.text for m in messages]
    predictions = models.predict(docs, evidence=False, comments=comments, texts=texts)
    kinds = [p.kind for p in predictions]
    return noise_report(
        messages,
        [p.complaint_confidence for p in predictions],
        kinds if any(k is not None for k in kinds) else None,
    )


def learning_curve(
    appeals: Sequence[Appeal],
    seed: Sequence[SeedExample],
    *,
    lemmatize: Lemmatize,
    rubricator: Rubricator,
    steps: Sequence[int] = (0, 100, 500, 2000),
    test_limit: int | None = None,
    spec: ModelSpec | None = None,
    shuffle_seed: int = 4,
    noise: Sequence[NoiseMessage] = (),
) -> list[CurvePoint]:
    """Train on the seed corpus plus the first N appeals as operator topic labels, per step.

    The appeals are shuffled once; the first ``max(steps)`` form the label pool, and every step
    is scored on the same remaining appeals (texts equal to a pool text are left out, since the
    portal repeats texts), optionally a sample of ``test_limit`` of them. With ``noise`` (the
    measured noise set), each step's models are scored on it too (``extra["noise"]``).
    """
    order = list(appeals)
    random.Random(shuffle_seed).shuffle(order)  # noqa: S311 - a reproducible split
    pool_size = max(steps) if steps else 0
    pool = order[:pool_size]
    pool_texts = {a.text.strip().casefold() for a in pool}
    test = [a for a in order[pool_size:] if a.text.strip().casefold() not in pool_texts]
    if test_limit is not None and len(test) > test_limit:
        test = test[:test_limit]
    docs = [" ".join(lemmatize(a.text)) for a in test]
    points: list[CurvePoint] = []
    for n in steps:
        labels = [OperatorLabel(a.text, "topic", a.topic) for a in pool[:n]]
        started = time.perf_counter()
        trained = train(seed, labels, lemmatize=lemmatize, rubricator=rubricator, spec=spec)
        seconds = time.perf_counter() - started
        report, topic_accuracy, complaint_recall, calibration = _score(trained.models, docs, test)
        logger.info("learning curve: %d labels -> macro-F1 %.4f", n, report.macro_f1)
        extra: dict[str, Any] = {"calibration": calibration}
        if noise:
            extra["noise"] = evaluate_noise(trained.models, noise, lemmatize=lemmatize)
        points.append(CurvePoint(n, report, topic_accuracy, complaint_recall, seconds, extra))
    return points


def format_curve(points: Sequence[CurvePoint]) -> str:
    """Render the learning curve as a text table."""
    lines = ["labels  macro-F1  accuracy  topic-acc  complaint-recall  train-s"]
    for p in points:
        lines.append(
            f"{p.labels:6d}  {p.report.macro_f1:8.3f}  {p.report.accuracy:8.3f}  "
            f"{p.topic_accuracy:9.3f}  {p.complaint_recall:16.3f}  {p.train_seconds:7.1f}"
        )
    return "\n".join(lines)
