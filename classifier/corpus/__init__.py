"""The seed corpus: labelled Russian messages the project wrote itself, and its loader."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from classifier.rubricator import Rubricator

__all__ = ["CorpusError", "SeedExample", "corpus_summary", "load_seed_corpus", "parse_example"]

_DATA_PACKAGE = "classifier.corpus"
_DEFAULT_FILE = "data/seed.jsonl"


class CorpusError(ValueError):
    """A corpus file is missing or a line of it is not a valid example."""


@dataclass(frozen=True, slots=True)
class SeedExample:
    """One labelled message: its text, whether it is a complaint, and its group and topic.

    A complaint has a group and a topic of the rubricator; a non-complaint has neither, and
    may say which kind of non-complaint it is (``classifier.noise.NOISE_KINDS``: reaction,
    advice, reply, ...).
    """

    text: str
    is_complaint: bool
    group: str | None = None
    topic: str | None = None
    kind: str | None = None


def parse_example(data: Any, *, where: str = "example") -> SeedExample:
    """Build an example from one decoded JSON object, checking its fields.

    Raises:
        CorpusError: when a field is missing or of the wrong type.
    """
    if not isinstance(data, dict):
        raise CorpusError(f"{where}: expected a JSON object")
    text, is_complaint = data.get("text"), data.get("is_complaint")
    group, topic = data.get("group"), data.get("topic")
    if not isinstance(text, str) or not text.strip():
        raise CorpusError(f"{where}: 'text' must be a non-empty string")
    if not isinstance(is_complaint, bool):
        raise CorpusError(f"{where}: 'is_complaint' must be true or false")
    for name, value in (("group", group), ("topic", topic)):
        if value is not None and not isinstance(value, str):
            raise CorpusError(f"{where}: {name!r} must be a string or null")
    if is_complaint and (group is None or topic is None):
        raise CorpusError(f"{where}: a complaint needs a 'group' and a 'topic'")
    if not is_complaint and (group is not None or topic is not None):
        raise CorpusError(f"{where}: a non-complaint has no 'group' or 'topic'")
    kind = data.get("kind")
    if kind is not None:
        from classifier.noise import NOISE_KINDS

        if is_complaint or kind not in NOISE_KINDS:
            raise CorpusError(
                f"{where}: 'kind' is one of {', '.join(NOISE_KINDS)}, and only for a non-complaint"
            )
    return SeedExample(text=text, is_complaint=is_complaint, group=group, topic=topic, kind=kind)


def load_seed_corpus(
    path: Path | None = None, *, rubricator: Rubricator | None = None
) -> list[SeedExample]:
    """Load a corpus in JSON Lines (the shipped seed corpus when ``path`` is None).

    With ``rubricator``, every complaint's topic must exist and belong to its group.

    Raises:
        CorpusError: when the file cannot be read or a line is not a valid example.
    """
    if path is None:
        origin = f"{_DATA_PACKAGE}/{_DEFAULT_FILE}"
        text = resources.files(_DATA_PACKAGE).joinpath(_DEFAULT_FILE).read_text(encoding="utf-8")
    else:
        origin = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise CorpusError(f"{origin}: cannot read: {err.strerror or err}") from err
    examples: list[SeedExample] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{origin}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusError(f"{where}: not valid JSON: {err.msg}") from err
        example = parse_example(data, where=where)
        if rubricator is not None and example.topic is not None:
            if not rubricator.has_topic(example.topic):
                raise CorpusError(f"{where}: unknown topic {example.topic!r}")
            if rubricator.group_of(example.topic) != example.group:
                raise CorpusError(f"{where}: topic {example.topic!r} is not in {example.group!r}")
        examples.append(example)
    if not examples:
        raise CorpusError(f"{origin}: the corpus is empty")
    return examples


def corpus_summary(examples: list[SeedExample]) -> dict[str, Any]:
    """Count a corpus's examples: total, complaints, non-complaints, per kind, per group."""
    groups = Counter(e.group for e in examples if e.group is not None)
    kinds = Counter(e.kind for e in examples if e.kind is not None)
    complaints = sum(e.is_complaint for e in examples)
    return {
        "examples": len(examples),
        "complaints": complaints,
        "non_complaints": len(examples) - complaints,
        "kinds": dict(sorted(kinds.items())),
        "groups": dict(sorted(groups.items())),
        "topics": len({e.topic for e in examples if e.topic is not None}),
    }
