"""Evaluation: metrics, the SPb mapping and reader, and the learning curve."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from classifier.corpus import load_seed_corpus
from classifier.evaluate import (
    OTHER,
    SPB_FILE,
    Appeal,
    EvaluationDataError,
    calibration_report,
    format_calibration,
    format_confusion,
    format_confusions,
    format_curve,
    format_report,
    group_report,
    learning_curve,
    load_spb_appeals,
    load_spb_mapping,
    top_confusions,
)
from classifier.features import FeatureSpec
from classifier.lemmatizer import Lemmatizer
from classifier.model import ModelSpec
from classifier.rubricator import load_rubricator

ROOT = Path(__file__).resolve().parents[2]
SHARED_SPB = ROOT.parent / "shared" / "data" / "spb-nash-peterburg"


def test_group_report_counts() -> None:
    truth = ["A", "A", "A", "B", "B", "C"]
    pred = ["A", "A", "B", "B", None, "Z"]
    report = group_report(truth, pred)
    assert report.labels == ("A", "B", "C")
    a, b, c = report.per_class
    assert (a.precision, a.recall, a.support) == (1.0, pytest.approx(2 / 3), 3)
    assert (b.precision, b.recall) == (0.5, 0.5)
    assert (c.precision, c.recall, c.f1) == (0.0, 0.0, 0.0)
    assert report.accuracy == pytest.approx(3 / 6)
    assert report.macro_f1 == pytest.approx((0.8 + 0.5 + 0.0) / 3)
    # Columns: A, B, C, (other).
    assert report.confusion == ((2, 1, 0, 0), (0, 1, 0, 1), (0, 0, 0, 1))
    assert report.to_json()["per_class"]["A"]["support"] == 3
    with pytest.raises(ValueError, match="length"):
        group_report(["A"], [])


def test_reports_render() -> None:
    report = group_report(["Дороги", "ЖКХ"], ["Дороги", "Дороги"])
    text = format_report(report)
    assert "macro-F1" in text
    assert "Дороги" in text
    matrix = format_confusion(report)
    assert "[2] (other)" in matrix
    assert "[0] Дороги" in matrix


def test_mapping_targets_exist_in_the_rubricator() -> None:
    rubricator = load_rubricator()
    mapping = load_spb_mapping()
    assert len(mapping) >= 120
    for group, topic in mapping.values():
        assert rubricator.group_of(topic) == group


def _write_spb(directory: Path, rows: list[dict[str, str]]) -> None:
    with gzip.open(directory / SPB_FILE, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "text", "category", "reason"])
        writer.writeheader()
        writer.writerows(rows)


def test_reader_maps_and_counts_unknown_reasons(tmp_path: Path) -> None:
    _write_spb(
        tmp_path,
        [
            {
                "id": "1",
                "text": "лифт стоит",
                "category": "Содержание МКД",
                "reason": "Неисправный лифт",
            },
            {"id": "2", "text": "что-то", "category": "Новое", "reason": "Неизвестно"},
            {"id": "3", "text": " ", "category": "Содержание МКД", "reason": "Неисправный лифт"},
        ],
    )
    appeals, unmapped = load_spb_appeals(tmp_path)
    assert appeals == [
        Appeal(
            "лифт стоит",
            "ЖКХ",
            "Лифт неисправен или отключен",
            "Содержание МКД",
            "Неисправный лифт",
        )
    ]
    assert unmapped == {("Новое", "Неизвестно"): 1}


def test_missing_data_is_an_evaluation_data_error(tmp_path: Path) -> None:
    with pytest.raises(EvaluationDataError, match="missing"):
        load_spb_appeals(tmp_path)
    (tmp_path / SPB_FILE).write_bytes(b"not gzip")
    with pytest.raises(EvaluationDataError, match="unreadable"):
        load_spb_appeals(tmp_path)


@pytest.mark.skipif(not (SHARED_SPB / SPB_FILE).is_file(), reason="../shared SPb data not present")
def test_every_spb_reason_is_mapped() -> None:
    appeals, unmapped = load_spb_appeals(SHARED_SPB)
    assert unmapped == {}
    assert len(appeals) > 59_000


def test_learning_curve_improves_with_labels() -> None:
    # Appeals written for this test: a vocabulary the seed corpus lacks, tied to two topics.
    lift = [f"ксилофон в парадной {i} опять" for i in range(60)]
    trash = [f"барабан у парадной {i} переполнен" for i in range(60)]
    appeals = [Appeal(t, "ЖКХ", "Лифт неисправен или отключен", "c", "r") for t in lift]
    appeals += [Appeal(t, "Мусор/Свалки/ТКО", "Проблемы с контейнерами", "c", "r") for t in trash]
    lemmatizer = Lemmatizer()
    points = learning_curve(
        appeals,
        load_seed_corpus()[::4],
        lemmatize=lemmatizer.lemmatize_text,
        rubricator=load_rubricator(),
        steps=(0, 40),
        spec=ModelSpec(features=FeatureSpec(char_ngrams=None), c=5.0, max_iter=300),
    )
    assert [p.labels for p in points] == [0, 40]
    assert points[0].report.n == points[1].report.n == 80
    assert points[1].report.macro_f1 > points[0].report.macro_f1
    assert points[1].report.macro_f1 > 0.9
    assert points[1].topic_accuracy > 0.9
    assert "labels  macro-F1" in format_curve(points)
    calibration = points[0].extra["calibration"]
    assert sum(b.n for b in calibration.bins) == 80
    assert calibration.coverage[0].accuracy == pytest.approx(points[0].report.accuracy)


def test_top_confusions_rank_the_off_diagonal_cells() -> None:
    truth = ["ЖКХ"] * 6 + ["Дороги"] * 3 + ["Благоустройство"] * 2
    pred = ["ЖКХ", "ЖКХ", "Дороги", "Дороги", "Дороги", None]
    pred += ["Дороги", "ЖКХ", "Благоустройство", "ЖКХ", "ЖКХ"]
    report = group_report(truth, pred)
    top = top_confusions(report, limit=3)
    assert [(c.truth, c.predicted, c.n) for c in top] == [
        ("ЖКХ", "Дороги", 3),
        ("Благоустройство", "ЖКХ", 2),
        ("Дороги", "Благоустройство", 1),
    ]
    assert top[0].share == pytest.approx(0.5)
    assert top[1].share == pytest.approx(1.0)
    everything = top_confusions(report, limit=100)
    assert ("ЖКХ", OTHER, 1) in [(c.truth, c.predicted, c.n) for c in everything]
    assert sum(c.n for c in everything) == len(truth) - 3  # 3 right answers
    text = format_confusions(top)
    assert "ЖКХ" in text.splitlines()[0]
    assert "-> Дороги  3  (50.0% of ЖКХ)" in text
    assert format_confusions([]) == "(no confusions)"


def test_calibration_report_renders_bins_and_coverage() -> None:
    report = calibration_report([0.95, 0.9, 0.55, 0.35], [True, True, False, True])
    assert report.ece == pytest.approx((0.05 + 0.1 + 0.55 + 0.65) / 4)
    kept = {c.threshold: (c.coverage, c.accuracy) for c in report.coverage}
    assert kept[0.5] == (0.75, pytest.approx(2 / 3))
    assert kept[0.9] == (0.5, 1.0)
    text = format_calibration(report)
    assert "expected calibration error 0.33" in text
    assert "0.9-1.0        2" in text
    assert report.to_json()["coverage"][0] == {"threshold": 0.0, "coverage": 1.0, "accuracy": 0.75}
