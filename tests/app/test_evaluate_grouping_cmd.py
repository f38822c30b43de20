"""``incident-management evaluate grouping``: the labelled grouping set's figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main


def test_evaluate_grouping_prints_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "grouping", "--json"]) == 0
    out = capsys.readouterr().out
    assert "pair precision" in out
    assert "B-cubed" in out
    assert "share suggested" in out
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["messages"] >= 300
    assert figures["pair_precision"] >= 0.98
    assert figures["pair_recall"] >= 0.9


def test_evaluate_grouping_on_a_missing_set_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["evaluate", "grouping", "--grouping-set", str(tmp_path / "none.json")])
    assert code != 0
    assert "labelled grouping set not found" in capsys.readouterr().err
