"""``incident-management train`` (seed corpus + database labels, promotion) and ``evaluate``."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.cli import main
from app.commands.evaluate_cmd import parse_steps
from app.errors import CliError
from classifier.artifact import load_artifact
from classifier.corpus import load_seed_corpus
from storage.db import create_engine_for
from storage.enums import LabelField
from storage.migrate import upgrade
from storage.models import TrainingLabel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "config.yaml"
    shutil.copy(ROOT / "config.yaml", target)
    monkeypatch.delenv("IM_DATABASE_URL", raising=False)
    monkeypatch.delenv("IM_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return target


@pytest.fixture
def small_seed(tmp_path: Path) -> Path:
    """Every eighth example of the seed corpus: quick to train on, every group present."""
    path = tmp_path / "seed.jsonl"
    rows = [
        {"text": e.text, "is_complaint": e.is_complaint, "group": e.group, "topic": e.topic}
        for e in load_seed_corpus()[::8]
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def _train(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, dict[str, object] | None]:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    code = main(["train", *args])
    text = out.getvalue()
    return code, json.loads(text) if text.strip() else None


def test_train_writes_an_artifact_then_keeps_it_without_new_labels(
    config: Path, small_seed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out_dir = tmp_path / "model"
    code, report = _train(monkeypatch, "--seed-corpus", str(small_seed), "--out", str(out_dir))
    assert code == 0
    assert report is not None
    written = report["written"]
    assert isinstance(written, dict)
    artifact = load_artifact(out_dir)
    assert artifact.version == written["version"]
    assert artifact.info.training["seed"]["examples"] == len(load_seed_corpus()[::8])
    # Nothing new to compare on: the current model stays.
    code, report = _train(monkeypatch, "--seed-corpus", str(small_seed), "--out", str(out_dir))
    assert code == 0
    assert report is not None
    assert report["written"] is None
    assert report["kept_version"] == artifact.version
    code, report = _train(
        monkeypatch, "--seed-corpus", str(small_seed), "--out", str(out_dir), "--force"
    )
    assert report is not None
    assert report["written"] is not None


def test_train_reads_operator_labels_from_the_database(
    config: Path, small_seed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'labels.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    with Session(engine) as session:
        for i in range(30):
            text = f"ксилофон в подъезде номер {i} опять встал"
            session.add(
                TrainingLabel(
                    text=text, field=LabelField.TOPIC, value="Лифт неисправен или отключен"
                )
            )
        session.add(TrainingLabel(text="котики", field=LabelField.COMPLAINT, value="false"))
        session.add(TrainingLabel(text="котики", field=LabelField.MUNICIPALITY, value="33701000"))
        session.commit()
    engine.dispose()
    monkeypatch.setenv("IM_DATABASE_URL", url)
    code, report = _train(
        monkeypatch,
        "--config",
        str(config),
        "--labels-from-db",
        "--seed-corpus",
        str(small_seed),
        "--out",
        str(tmp_path / "model"),
    )
    assert code == 0
    assert report is not None
    promotion = report["promotion"]
    assert isinstance(promotion, dict)
    assert promotion["promoted"] is True
    training = load_artifact(tmp_path / "model").info.training
    labels = training["labels"]
    # About a fifth of the 32 labels are held back to compare models; the rest are learnt.
    assert 0 < promotion["held_back"] < 16
    assert (
        labels["topic"] + labels["complaint"] + labels["municipality"]
        == 32 - promotion["held_back"]
    )
    assert 15 < labels["texts"] < 31


def test_train_with_a_broken_seed_corpus_is_a_one_line_error(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "is_complaint": "maybe"}\n', encoding="utf-8")
    code, _ = _train(monkeypatch, "--seed-corpus", str(bad), "--out", str(tmp_path / "m"))
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "bad.jsonl:1" in err


def test_evaluate_without_the_shared_data_says_so(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["evaluate", "--data", str(tmp_path / "no-such-dir")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "evaluation data not found" in err
    assert "never copied into the project" in err


def test_parse_steps() -> None:
    assert parse_steps("0,100, 500") == [0, 100, 500]
    for bad in ("", "a,b", "-1"):
        with pytest.raises(CliError):
            parse_steps(bad)
