"""Rate an incident's priority from distinct authors, reach and urgency words, with reasons."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DEPRIVATION_LEMMAS",
    "URGENCY_LEMMAS",
    "Priority",
    "PriorityAssessment",
    "PriorityConfig",
    "PrioritySignals",
    "UrgencyMarker",
    "assess_priority",
    "urgency_markers",
]


class Priority(enum.StrEnum):
    """How urgently an incident must be handled (the values storage keeps)."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


#: Lemmas that make a complaint urgent, with their points (3: danger now, 2: vulnerable people or
#: a plea for haste, 1: aggravating).
URGENCY_LEMMAS: dict[str, int] = {
    "авария": 3,
    "аварийный": 2,
    "прорыв": 3,
    "прорвать": 3,
    "угроза": 3,
    "пожар": 3,
    "гореть": 2,
    "обрушение": 3,
    "обрушиться": 3,
    "рухнуть": 3,
    "затопить": 2,
    "затопление": 2,
    "утечка": 3,
    "взрыв": 3,
    "кипяток": 2,
    "оголить": 2,
    "искрить": 3,
    "опасно": 2,
    "опасный": 2,
    "ребенок": 2,
    "дети": 2,
    "младенец": 2,
    "инвалид": 1,
    "пенсионер": 1,
    "лежачий": 1,
    "срочно": 2,
    "срочный": 2,
    "немедленно": 2,
    "мерзнуть": 1,
    "замерзать": 1,
}

#: "без света", "нет воды", "отключить отопление": a utility cut, 3 points.
DEPRIVATION_LEMMAS: frozenset[str] = frozenset(
    {"свет", "вода", "отопление", "тепло", "электричество", "электроэнергия", "газ", "канализация"}
)
_DEPRIVATION_CUES = frozenset({"без", "нет", "отключить", "отключение", "отсутствовать", "дать"})
_DEPRIVATION_POINTS = 3


@dataclass(frozen=True, slots=True)
class UrgencyMarker:
    """An urgency phrase found in the lemmas and its points."""

    phrase: str
    points: int


def urgency_markers(lemmas: Sequence[str]) -> tuple[UrgencyMarker, ...]:
    """Find the urgency words and utility-cut phrases ("без света") in a lemma sequence."""
    norm = [lemma.lower().replace("ё", "е") for lemma in lemmas]
    found: dict[str, int] = {}
    for index, lemma in enumerate(norm):
        points = URGENCY_LEMMAS.get(lemma)
        if points is not None:
            found[lemma] = max(found.get(lemma, 0), points)
        if lemma in DEPRIVATION_LEMMAS:
            window = norm[max(0, index - 4) : index] + norm[index + 1 : index + 3]
            cue = next((w for w in window if w in _DEPRIVATION_CUES), None)
            if cue is not None:
                found[f"без {lemma}"] = _DEPRIVATION_POINTS
    return tuple(UrgencyMarker(phrase, points) for phrase, points in sorted(found.items()))


@dataclass(frozen=True, slots=True)
class PriorityConfig:
    """Thresholds of the priority rating (docs/grouping.md, "Priority")."""

    urgency_cap: int = 6  # most points urgency words may give
    author_steps: tuple[int, ...] = (3, 10, 30)  # distinct authors for +1, +2, +3
    engagement_steps: tuple[int, ...] = (2_000, 10_000, 50_000)  # for +1, +2, +3
    reaction_weight: int = 10  # a like, comment or repost counts as this many views
    low_engagement: int = 100  # a lone message with no points under this is low priority
    high_at: int = 3
    urgent_at: int = 6


@dataclass(frozen=True, slots=True)
class PrioritySignals:
    """What priority is computed from (an incident's aggregates)."""

    message_count: int
    distinct_authors: int
    views: int = 0
    likes: int = 0
    comments: int = 0
    reposts: int = 0
    urgency: tuple[str, ...] = ()  # urgency phrases found in the incident's messages


@dataclass(frozen=True, slots=True)
class PriorityAssessment:
    """A priority, its points and one line of explanation per point source."""

    level: Priority
    points: int
    reasons: tuple[str, ...]


def _step_points(value: int, steps: Sequence[int]) -> int:
    return sum(1 for step in steps if value >= step)


def _phrase_points(phrase: str) -> int:
    if phrase.startswith("без "):
        return _DEPRIVATION_POINTS
    return URGENCY_LEMMAS.get(phrase, 0)


def assess_priority(
    signals: PrioritySignals, config: PriorityConfig | None = None
) -> PriorityAssessment:
    """Rate the priority: urgency points + distinct-author points + reach points, with reasons."""
    config = config or PriorityConfig()
    reasons: list[str] = []
    phrases = sorted(set(signals.urgency), key=lambda p: (-_phrase_points(p), p))
    urgency = min(config.urgency_cap, sum(_phrase_points(p) for p in phrases))
    if urgency:
        shown = ", ".join(f"{p} (+{_phrase_points(p)})" for p in phrases if _phrase_points(p))
        capped = f", capped at {config.urgency_cap}" if urgency == config.urgency_cap else ""
        reasons.append(f"urgency words: {shown}{capped}")
    authors = _step_points(signals.distinct_authors, config.author_steps)
    if authors:
        reasons.append(f"{signals.distinct_authors} distinct authors (+{authors})")
    engagement = signals.views + config.reaction_weight * (
        signals.likes + signals.comments + signals.reposts
    )
    reach = _step_points(engagement, config.engagement_steps)
    if reach:
        reasons.append(
            f"reach {engagement} = {signals.views} views + {config.reaction_weight} x "
            f"({signals.likes} likes + {signals.comments} comments + {signals.reposts} reposts)"
            f" (+{reach})"
        )
    points = urgency + authors + reach
    if points >= config.urgent_at:
        level = Priority.URGENT
    elif points >= config.high_at:
        level = Priority.HIGH
    elif points == 0 and signals.message_count <= 1 and engagement < config.low_engagement:
        level = Priority.LOW
        reasons.append(f"a single message, reach {engagement} < {config.low_engagement}")
    else:
        level = Priority.NORMAL
    reasons.append(
        f"{points} points: urgent at {config.urgent_at}, high at {config.high_at} -> {level.value}"
    )
    return PriorityAssessment(level, points, tuple(reasons))
