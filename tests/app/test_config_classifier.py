"""The classifier section, and rules/overrides checked against the rubricator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.commands.classify_cmd import resolve_model_dir
from app.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    target = tmp_path / "config.yaml"
    shutil.copy(ROOT / "config.yaml", target)
    return target


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_star_marked_topics_are_matched_by_their_plain_name(config_path: Path) -> None:
    config = load_config(config_path, {})
    topics = {override.topic for override in config.sla.overrides}
    assert "Прорыв трубы/трубопровода" in topics
    assert not any(topic.startswith("★") for topic in topics)


def test_unknown_topic_group_in_a_rule(config_path: Path) -> None:
    _replace(
        config_path,
        "{topic_group: Дороги, executor: $municipal}",
        "{topic_group: Дорги, executor: $municipal}",
    )
    message = _error(config_path)
    assert "jurisdiction.rules[" in message
    assert ".topic_group: 'Дорги' is not a topic group of the rubricator" in message
    assert "did you mean 'Дороги'?" in message


def test_unknown_topic_in_an_sla_override(config_path: Path) -> None:
    _replace(config_path, "topic: ★ Прорыв трубы/трубопровода", "topic: Прорыв трубы во дворе")
    message = _error(config_path)
    assert (
        "sla.overrides[1].topic: 'Прорыв трубы во дворе' is not a topic of the rubricator"
        in message
    )


def test_topic_of_another_group(config_path: Path) -> None:
    _replace(
        config_path, "{topic_group: ЖКХ, topic: ★ Прорыв", "{topic_group: Дороги, topic: ★ Прорыв"
    )
    message = _error(config_path)
    assert "sla.overrides[1].topic: topic 'Прорыв трубы/трубопровода' belongs to 'ЖКХ'" in message


def test_a_replacement_rubricator_is_used_for_the_checks(config_path: Path, tmp_path: Path) -> None:
    rubricator = tmp_path / "rubricator.json"
    rubricator.write_text(json.dumps({"Яма на дороге": "Дороги"}, ensure_ascii=False), "utf-8")
    _replace(config_path, "  rubricator: null", "  rubricator: rubricator.json")
    message = _error(config_path)  # the shipped rules name groups this rubricator lacks
    assert "is not a topic group of the rubricator" in message


def test_a_broken_rubricator_file_is_one_line(config_path: Path, tmp_path: Path) -> None:
    (tmp_path / "rubricator.json").write_text("{not json", "utf-8")
    _replace(config_path, "  rubricator: null", "  rubricator: rubricator.json")
    assert "classifier.rubricator: not a valid rubricator" in _error(config_path)


def test_model_dir_resolves_against_the_config_and_falls_back(
    config_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./var/models/current here
    _replace(config_path, "  model_dir: null", "  model_dir: models/current")
    config = load_config(config_path, {})
    configured = config.classifier.model_dir
    assert configured == config_path.parent / "models" / "current"
    # Nothing trained there yet: the shipped model (None) is used.
    assert resolve_model_dir(None, configured) is None
    configured.mkdir(parents=True)
    (configured / "manifest.json").write_text("{}", "utf-8")
    assert resolve_model_dir(None, configured) == configured
    assert resolve_model_dir(Path("/elsewhere"), configured) == Path("/elsewhere")
