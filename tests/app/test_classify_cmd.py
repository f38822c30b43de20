"""``incident-management classify``: JSON Lines in, one JSON object per line out."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.commands.classify_cmd import parse_line

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_KEYS = {
    "complaint",
    "complaint_confidence",
    "group",
    "topic",
    "topic_confidence",
    "municipality",
    "municipality_oktmo",
    "municipality_confidence",
    "evidence",
}


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped config in a temp dir that is also the working directory (no ./var/models)."""
    target = tmp_path / "config.yaml"
    shutil.copy(ROOT / "config.yaml", target)
    monkeypatch.delenv("IM_DATABASE_URL", raising=False)
    monkeypatch.delenv("IM_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return target


def _classify(
    config: Path, lines: list[str], monkeypatch: pytest.MonkeyPatch, *extra: str
) -> tuple[int, list[dict[str, object]]]:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    code = main(["classify", "--config", str(config), *extra])
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_classifies_json_and_plain_lines_and_reports_bad_ones(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps({"text": "В Котельниче мусор не вывозят вторую неделю"}, ensure_ascii=False),
        "Продам дрова недорого, звоните",
        "",
        "{broken json",
        json.dumps({"text": "нет горячей воды", "source_municipality": "Слободской район"}),
        json.dumps({"text": "яма", "lat": "north"}),
        json.dumps([1, 2]),
    ]
    code, results = _classify(config, lines, monkeypatch)
    assert code == 0
    assert len(results) == 6  # the empty line is skipped
    trash, ad, broken, water, bad_lat, array = results
    assert set(trash) >= EXPECTED_KEYS
    assert trash["complaint"] is True
    assert trash["group"] == "Мусор/Свалки/ТКО"
    assert trash["municipality"] == "город Котельнич"
    assert trash["municipality_oktmo"] == "33710000"
    assert any(e["field"] == "topic" for e in trash["evidence"])  # type: ignore[union-attr]
    assert str(trash["model_version"]).startswith("tfidf-lr:")
    assert ad["complaint"] is False
    assert broken == {"error": broken["error"]}
    assert str(broken["error"]).startswith("line 4:")
    assert water["group"] == "ЖКХ"
    assert water["municipality"] == "Слободской муниципальный район"
    assert "lat" in str(bad_lat["error"])
    assert "JSON object" in str(array["error"])


def test_missing_model_is_a_one_line_error(
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    code, results = _classify(config, ["яма"], monkeypatch, "--model", str(tmp_path / "none"))
    assert code == 2
    assert results == []
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "incident-management train" in err


def test_parse_line() -> None:
    assert parse_line("просто текст\n").text == "просто текст"
    assert parse_line('"строка JSON"').text == "строка JSON"
    item = parse_line('{"text": "т", "source_municipality": "Киров", "lat": 58, "lon": 49.6}')
    assert (item.source_municipality, item.lat, item.lon) == ("Киров", 58.0, 49.6)
    bad_lines = {
        '{"text": ""}': "non-empty string",
        '{"text": "т", "lon": true}': "must be a number",
        '{"text": "т", "source_municipality": 1}': "must be a string",
    }
    for line, problem in bad_lines.items():
        with pytest.raises(ValueError, match=problem):
            parse_line(line)


def test_without_the_gazetteer_places_are_matched_by_region_lookup(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.commands._common import load_config_or_fail
    from app.commands.classify_cmd import build_matcher
    from classifier.lemmatizer import Lemmatizer
    from classifier.pipeline import RegionMatcher

    monkeypatch.setitem(sys.modules, "classifier.gazetteer", None)
    matcher = build_matcher(load_config_or_fail(argparse.Namespace(config=config)), Lemmatizer())
    assert isinstance(matcher, RegionMatcher)
    assert "no gazetteer" in capsys.readouterr().err
    found = matcher.match("В Котельниче нет света").municipality
    assert found is not None
    assert found.oktmo == "33710000"
