"""The demo wipes its own folder at start, and only a folder that holds nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_demo_refuses_to_wipe_a_folder_with_other_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    precious = tmp_path / "квартальный отчёт.xlsx"
    precious.write_text("не удалять")
    code = main(["--config", str(ROOT / "config.yaml"), "demo", "--data-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "квартальный отчёт.xlsx" in err
    assert precious.read_text() == "не удалять"
