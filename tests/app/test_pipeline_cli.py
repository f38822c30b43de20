"""``incident-management process``: one run over stored messages, counts printed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.cli import main
from classifier.lemmatizer import Lemmatizer
from storage.db import create_engine_for, make_sessionmaker
from storage.migrate import upgrade
from tests.app.test_pipeline_support import LEMMATIZER, KeywordClassifier, add_source, post

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class KeywordModel(KeywordClassifier):
    """The keyword double with a lemmatiser, as ``build_classifier`` returns a classifier."""

    lemmatizer: Lemmatizer = LEMMATIZER


def test_process_prints_what_it_did(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(sqlite_url)
    sm = make_sessionmaker(create_engine_for(sqlite_url))
    source = add_source(sm)
    now = datetime.now(UTC)
    post(
        sm, source, "В Котельниче в поликлинике не записаться к терапевту", now - timedelta(hours=2)
    )
    post(sm, source, "Продам гараж в Слободском, недорого", now - timedelta(hours=1), author=3)
    post(sm, source, "Опять нет горячей воды на Ленина 5", now - timedelta(days=9), author=4)
    monkeypatch.setenv("IM_DATABASE_URL", sqlite_url)
    monkeypatch.setattr(
        "app.commands.classify_cmd.build_classifier", lambda config, model: KeywordModel()
    )

    code = main(["--config", str(ROOT / "config.yaml"), "process", "--limit", "10"])

    out = capsys.readouterr().out
    assert code == 0
    assert "classified: 3" in out
    assert "complaints: 2" in out
    assert "incidents created: 1" in out
    assert "dropped: not_complaint 1, too_old 1" in out
    assert "grouping index: 0 open incidents" in out
    # Run again: everything was processed.
    assert main(["--config", str(ROOT / "config.yaml"), "process"]) == 0
    assert "classified: 0" in capsys.readouterr().out


def test_process_refuses_to_run_beside_a_daemon_that_holds_the_job(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from storage.repositories.jobs import JobLeaseRepository

    upgrade(sqlite_url)
    sm = make_sessionmaker(create_engine_for(sqlite_url))
    source = add_source(sm)
    now = datetime.now(UTC)
    post(sm, source, "В Котельниче в поликлинике не записаться к терапевту", now)
    # A daemon on another host (it cannot be checked, so it is alive until its lease runs out).
    with sm.begin() as s:
        assert JobLeaseRepository(s).acquire(
            "process", "сервер-2:4242:0a1b2c3d", now, lease_seconds=60
        )
    monkeypatch.setenv("IM_DATABASE_URL", sqlite_url)
    monkeypatch.setattr(
        "app.commands.classify_cmd.build_classifier", lambda config, model: KeywordModel()
    )

    code = main(["--config", str(ROOT / "config.yaml"), "process"])

    assert code == 1
    err = capsys.readouterr().err
    assert "'process' job is running in another process (сервер-2:4242:0a1b2c3d)" in err
    # Nothing was processed; once the daemon's lease is gone the command runs.
    with sm.begin() as s:
        assert JobLeaseRepository(s).release("process", "сервер-2:4242:0a1b2c3d")
    assert main(["--config", str(ROOT / "config.yaml"), "process"]) == 0
    assert "classified: 1" in capsys.readouterr().out


def test_process_refuses_a_bad_limit(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(ROOT / "config.yaml"), "process", "--limit", "0"])
    assert code != 0
    assert "--limit" in capsys.readouterr().err
