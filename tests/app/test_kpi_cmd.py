"""``incident-management kpi``: the scenario of test_kpi.py through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from tests.app.test_kpi import scenario

PERIOD = ["--from", "2025-10-13", "--to", "2025-10-19", "--as-of", "2025-10-17T18:00+03:00"]


@pytest.fixture
def config(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    scenario(sqlite_url)
    path = tmp_path / "config.yaml"
    path.write_text("region: {code: kirov}\n", encoding="utf-8")
    monkeypatch.setenv("IM_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("IM_CONFIG", raising=False)
    return path


def test_json_by_executor(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(config), "kpi", *PERIOD, "--by", "executor", "--format", "json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["by"] == "executor"
    assert data["from"] == "2025-10-13T00:00:00+03:00"
    assert data["to"] == "2025-10-20T00:00:00+03:00"
    total = data["total"]
    # Counts and calendar hours do not depend on the schedule (the config has no executors,
    # so working hours are the region's standard week here).
    assert [total[k] for k in ("received", "answered", "on_time", "late", "pending")] == [
        5,
        3,
        2,
        2,
        1,
    ]
    assert total["final_answer_h_median"] == pytest.approx(27)
    assert total["on_time_share"] == pytest.approx(0.5)
    assert [(r["key"], r["received"]) for r in data["rows"]] == [("minzdrav", 6), ("mintrans", 1)]
    assert data["misroutes"][1] == {
        "rule_id": "rules[0]",
        "routed": 6,
        "not_ours": 1,
        "share": pytest.approx(1 / 6),
    }


def test_table_by_municipality(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "kpi", *PERIOD, "--by", "municipality"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["group", "received", "answered"]
    assert lines[2].split()[:3] == ["Слободской", "4", "2"]
    assert lines[3].split()[:2] == ["Киров", "1"]
    assert lines[4].split()[:6] == ["всего", "5", "3", "2", "2", "1"]
    assert "rules[0]: 1 of 6 (16.7%)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-10-20", "--to", "2025-10-13"], "--to must not be before --from"),
        (["--from", "13.10.2025"], "--from: expected a date YYYY-MM-DD"),
        (["--as-of", "вчера"], "--as-of: expected an ISO 8601 time"),
    ],
)
def test_bad_input_is_one_line(
    config: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["--config", str(config), "kpi", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
