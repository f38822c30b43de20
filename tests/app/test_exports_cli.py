"""``incident-management export incidents``: the queue's filters, CSV and XLSX, all or nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from app.cli import main
from tests.factories import world
from tests.web.conftest import POTHOLE, populate


@pytest.fixture
def config(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    w = world(sqlite_url)
    populate(w)
    path = tmp_path / "config.yaml"
    path.write_text("region: {code: kirov}\n", encoding="utf-8")
    monkeypatch.setenv("IM_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("IM_CONFIG", raising=False)
    return path


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), "export", "incidents", *args])


def test_exports_every_incident_as_csv(config: Path, tmp_path: Path) -> None:
    target = tmp_path / "все инциденты.csv"
    assert run(config, "--format", "csv", "--output", str(target)) == 0
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=";"))
    assert len(rows) == 3
    assert {r["Группа тем"] for r in rows} == {"Здравоохранение", "Дороги", "ЖКХ"}


def test_filters_apply_and_xlsx_is_written(config: Path, tmp_path: Path) -> None:
    target = tmp_path / "roads.xlsx"
    args = ("--format", "xlsx", "--output", str(target), "--topic-group", "Дороги")
    assert run(config, *args, "--sort", "received") == 0
    sheet = openpyxl.load_workbook(target).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 2
    assert POTHOLE in values[1]


def test_a_bad_filter_is_refused_and_writes_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "x.csv"
    assert run(config, "--format", "csv", "--output", str(target), "--sla", "soon") == 2
    assert "sla" in capsys.readouterr().err
    assert run(config, "--format", "csv", "--output", str(target), "--state", "lost") == 2
    assert not target.exists()
    assert list(tmp_path.glob(".x.csv.*")) == []


def test_an_unwritable_target_is_one_line(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "нет такой папки" / "x.xlsx"
    assert run(config, "--format", "xlsx", "--output", str(target)) == 1
    assert "cannot write" in capsys.readouterr().err
