"""The rubricator: the shipped Perm ЦУР taxonomy and the validation of replacement files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.rubricator import RubricatorError, load_rubricator, parse_rubricator


def test_default_rubricator_has_195_topics_in_26_groups() -> None:
    rubricator = load_rubricator()
    assert len(rubricator.topics) == 195
    assert len(rubricator.groups) == 26
    assert rubricator.groups[0] == "Благоустройство"


def test_priority_mark_is_a_flag_not_part_of_the_name() -> None:
    rubricator = load_rubricator()
    pits = rubricator.topic("Ямы во дворах")
    assert pits.priority is True
    assert pits.group == "Благоустройство"
    assert rubricator.topic("★ Ямы во дворах") == pits
    assert not any("★" in t.name for t in rubricator.topics)
    assert rubricator.topic("Борщевик Сосновского").priority is False
    assert sum(t.priority for t in rubricator.topics) == 33


def test_lookups() -> None:
    rubricator = load_rubricator()
    assert rubricator.group_of("Лифт неисправен или отключен") == "ЖКХ"
    assert rubricator.has_group("Дороги")
    assert not rubricator.has_group("Космос")
    assert not rubricator.has_topic("Полёты на Марс")
    assert len(rubricator.topics_of("Электроснабжение")) == 2
    with pytest.raises(KeyError):
        rubricator.topic("Полёты на Марс")


def test_a_replacement_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "rubricator.json"
    path.write_text(
        json.dumps({"★ Ямы": "Дороги", "Свалки": "Мусор"}, ensure_ascii=False), encoding="utf-8"
    )
    rubricator = load_rubricator(path)
    assert rubricator.groups == ("Дороги", "Мусор")
    assert rubricator.topic("Ямы").priority


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[1, 2]", "expected a non-empty JSON object"),
        ("{}", "expected a non-empty JSON object"),
        ('{"Ямы": 5}', "has no group name"),
        ('{"Ямы": "Дороги", "★ Ямы": "Дороги"}', "listed twice"),
        ('{"★": "Дороги"}', "topic name is empty"),
        ("{not json", "not valid JSON"),
    ],
)
def test_invalid_files_are_refused_with_the_reason(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RubricatorError, match=problem) as info:
        load_rubricator(path)
    assert str(path) in str(info.value)


def test_missing_file_is_a_rubricator_error(tmp_path: Path) -> None:
    with pytest.raises(RubricatorError, match="cannot read"):
        load_rubricator(tmp_path / "absent.json")


def test_parse_rubricator_accepts_a_mapping() -> None:
    assert parse_rubricator({"A": "G"}).topic("A").group == "G"
