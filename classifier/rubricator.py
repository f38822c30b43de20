"""The topic rubricator: topics, the groups they belong to, and which topics are priority."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

PRIORITY_MARK = "★"
_DATA_PACKAGE = "classifier.data.rubricator"
_DEFAULT_FILE = "default.json"


class RubricatorError(ValueError):
    """A rubricator file is missing, is not valid JSON, or does not describe a rubricator."""


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic of the rubricator: its name (without the ★ mark), its group, its priority."""

    name: str
    group: str
    priority: bool = False


@dataclass(frozen=True, slots=True)
class Rubricator:
    """Topics grouped into topic groups, in the order of the source file."""

    topics: tuple[Topic, ...]
    _by_name: dict[str, Topic] = field(init=False, repr=False, compare=False)
    _by_group: dict[str, tuple[Topic, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index the topics by name and by group; refuse duplicates and empty names."""
        by_name: dict[str, Topic] = {}
        by_group: dict[str, list[Topic]] = {}
        for topic in self.topics:
            if not topic.name.strip() or not topic.group.strip():
                raise RubricatorError("a topic or group name is empty")
            if topic.name in by_name:
                raise RubricatorError(f"topic {topic.name!r} is listed twice")
            by_name[topic.name] = topic
            by_group.setdefault(topic.group, []).append(topic)
        if not by_name:
            raise RubricatorError("the rubricator has no topics")
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_by_group", {g: tuple(t) for g, t in by_group.items()})

    @property
    def groups(self) -> tuple[str, ...]:
        """Return the topic groups in order of first appearance."""
        return tuple(self._by_group)

    def topic(self, name: str) -> Topic:
        """Return a topic by name (with or without the ★ mark); KeyError when unknown."""
        return self._by_name[_strip_mark(name)]

    def has_topic(self, name: str) -> bool:
        """Say whether a topic of this name exists."""
        return _strip_mark(name) in self._by_name

    def has_group(self, group: str) -> bool:
        """Say whether a topic group of this name exists."""
        return group in self._by_group

    def topics_of(self, group: str) -> tuple[Topic, ...]:
        """Return the topics of a group; KeyError when the group is unknown."""
        return self._by_group[group]

    def group_of(self, topic: str) -> str:
        """Return the group of a topic; KeyError when the topic is unknown."""
        return self.topic(topic).group


def _strip_mark(name: str) -> str:
    return name.replace(PRIORITY_MARK, "").strip()


def parse_rubricator(data: Any, *, origin: str = "rubricator") -> Rubricator:
    """Build a rubricator from a JSON object mapping each topic name to its group name.

    A topic name starting with ★ is a priority topic; the mark is not part of the name.

    Raises:
        RubricatorError: when the data is not such a mapping or names repeat.
    """
    if not isinstance(data, dict) or not data:
        raise RubricatorError(f"{origin}: expected a non-empty JSON object of topic -> group")
    topics: list[Topic] = []
    for raw_name, group in data.items():
        if not isinstance(group, str) or not group.strip():
            raise RubricatorError(f"{origin}: topic {raw_name!r} has no group name")
        name = _strip_mark(raw_name)
        if not name:
            raise RubricatorError(f"{origin}: a topic name is empty")
        topics.append(Topic(name=name, group=group.strip(), priority=PRIORITY_MARK in raw_name))
    try:
        return Rubricator(topics=tuple(topics))
    except RubricatorError as err:
        raise RubricatorError(f"{origin}: {err}") from err


def load_rubricator(path: Path | None = None) -> Rubricator:
    """Load a rubricator file, or the shipped default (195 topics in 26 groups) when None.

    Raises:
        RubricatorError: when the file cannot be read or is not a valid rubricator.
    """
    if path is None:
        origin = f"{_DATA_PACKAGE}/{_DEFAULT_FILE}"
        text = resources.files(_DATA_PACKAGE).joinpath(_DEFAULT_FILE).read_text(encoding="utf-8")
    else:
        origin = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise RubricatorError(f"{origin}: cannot read: {err.strerror or err}") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise RubricatorError(f"{origin}: not valid JSON: {err.msg} at line {err.lineno}") from err
    return parse_rubricator(data, origin=origin)
