"""Group classified complaints into incidents: fingerprint, tombstones, lookup, attach or create."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType

from classifier.types import Classification
from router.entities import Entity, EntityKind, extract_entities
from router.fingerprint import (
    GROUPING_VERSION,
    NUMBERED_KINDS,
    Fingerprint,
    FingerprintInput,
    FingerprintKind,
    content_terms,
    extract_address,
    fingerprints_for,
    normalize_lemma,
    stem,
    term_labels,
    time_bucket,
)
from router.priority import PriorityAssessment, PriorityConfig, PrioritySignals, assess_priority
from router.priority import urgency_markers as find_urgency_markers
from router.similarity import Similarity, TermStats, profile_similarity
from router.street_vocabulary import StreetVocabulary

__all__ = [
    "Attach",
    "Candidates",
    "Create",
    "Decision",
    "Drop",
    "Evidence",
    "GroupingConfig",
    "GroupingError",
    "GroupingIndex",
    "GroupingMessage",
    "IncidentHeader",
    "IncidentRecord",
    "IncidentSeed",
    "IncidentStatus",
    "Link",
    "MergeResult",
    "Reach",
    "Rule",
    "SplitResult",
    "Tombstone",
    "check_tombstones",
    "decide",
]

_SHARED_SHOWN = 8  # shared lemmas kept in the evidence shown to operators
_NONE: frozenset[str] = frozenset()


class GroupingError(Exception):
    """An operation on the grouping index that cannot be done (unknown incident, bad split)."""


class IncidentStatus(enum.StrEnum):
    """Whether an incident still collects messages (only ``open`` ones do)."""

    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"
    DISMISSED = "dismissed"


class Rule(enum.StrEnum):
    """Which rule decided where a message went."""

    TOMBSTONE = "tombstone"
    COMMENT_OF_POST = "comment-of-post"
    TEXT_FINGERPRINT = "fingerprint-text"
    ADDRESS_FINGERPRINT = "fingerprint-address"
    ENTITY = "entity"
    SIMILARITY = "similarity"
    NEW_INCIDENT = "new-incident"


@dataclass(frozen=True, slots=True)
class Reach:
    """How many people saw and reacted to a message (or, summed, to an incident)."""

    views: int = 0
    likes: int = 0
    comments: int = 0
    reposts: int = 0

    def __add__(self, other: Reach) -> Reach:
        return Reach(
            self.views + other.views,
            self.likes + other.likes,
            self.comments + other.comments,
            self.reposts + other.reposts,
        )

    def __sub__(self, other: Reach) -> Reach:
        return Reach(
            self.views - other.views,
            self.likes - other.likes,
            self.comments - other.comments,
            self.reposts - other.reposts,
        )


@dataclass(frozen=True, slots=True)
class GroupingMessage:
    """A classified complaint as grouping sees it.

    ``lemmas`` are the text's lemmas in order (computed by the caller, e.g. with the classifier's
    lemmatiser). ``address`` is the stemmed street and house number; ``None`` means "extract it
    from ``text``" (:func:`router.fingerprint.extract_address`). ``parent_key`` is the key of the
    post a comment belongs to.
    """

    key: str
    network: str
    text: str
    lemmas: tuple[str, ...]
    topic_group: str | None
    topic: str | None
    municipality_oktmo: str | None
    posted_at: datetime
    parent_key: str | None = None
    author_id: str | None = None
    reach: Reach = field(default_factory=Reach)
    address: tuple[str, ...] | None = None
    entities: tuple[Entity, ...] | None = None

    def __post_init__(self) -> None:
        if self.posted_at.tzinfo is None or self.posted_at.utcoffset() is None:
            raise ValueError(f"message {self.key}: posted_at must be timezone-aware")

    @classmethod
    def from_classification(
        cls,
        *,
        key: str,
        network: str,
        text: str,
        lemmas: Sequence[str],
        classification: Classification,
        posted_at: datetime,
        parent_key: str | None = None,
        author_id: str | None = None,
        reach: Reach | None = None,
    ) -> GroupingMessage:
        """Build a message from the classifier's verdict on it."""
        return cls(
            key=key,
            network=network,
            text=text,
            lemmas=tuple(lemmas),
            topic_group=classification.topic_group,
            topic=classification.topic,
            municipality_oktmo=classification.municipality_oktmo,
            posted_at=posted_at,
            parent_key=parent_key,
            author_id=author_id,
            reach=reach or Reach(),
        )

    def resolved_address(self) -> tuple[str, ...]:
        """Return the address given, or the one found in the text."""
        return self.address if self.address is not None else extract_address(self.text)

    def resolved_entities(self) -> tuple[Entity, ...]:
        """Return the entities given, or those found in the text (router.entities)."""
        return self.entities if self.entities is not None else extract_entities(self.text)

    def fingerprint_input(self) -> FingerprintInput:
        """Return what the fingerprints of this message are computed from."""
        return FingerprintInput(
            lemmas=self.lemmas,
            address=self.resolved_address(),
            topic_group=self.topic_group,
            topic=self.topic,
            municipality_oktmo=self.municipality_oktmo,
            posted_at=self.posted_at,
        )


@dataclass(frozen=True, slots=True)
class GroupingConfig:
    """Thresholds of the grouping decision (docs/grouping.md explains each)."""

    window: timedelta = timedelta(days=3)
    attach_threshold: float = 0.25
    topic_mismatch_margin: float = 0.12
    unknown_place_margin: float = 0.1
    comment_threshold: float = 0.12
    generic_share: float = 0.005
    generic_min_df: int = 10
    posting_cap: int = 300
    max_candidates: int = 40
    entity_merge_confidence: float = 0.7
    entity_suggest_confidence: float = 0.55
    related_threshold: float = 0.15
    versions: tuple[str, ...] = (GROUPING_VERSION,)

    def __post_init__(self) -> None:
        if not self.versions:
            raise ValueError("GroupingConfig.versions needs at least the current version")
        if self.window <= timedelta(0):
            raise ValueError("GroupingConfig.window must be positive")
        if self.entity_suggest_confidence > self.entity_merge_confidence:
            raise ValueError(
                "GroupingConfig.entity_suggest_confidence must not exceed entity_merge_confidence"
            )
        for name in (
            "attach_threshold",
            "comment_threshold",
            "generic_share",
            "entity_merge_confidence",
            "entity_suggest_confidence",
            "related_threshold",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"GroupingConfig.{name} must be within [0, 1]")

    @property
    def primary_version(self) -> str:
        """Return the version new links and new incidents are recorded with."""
        return self.versions[0]


@dataclass(frozen=True, slots=True)
class IncidentHeader:
    """What storage keeps of an incident that grouping needs to rebuild its index."""

    id: int
    topic_group: str | None
    topic: str | None
    municipality_oktmo: str | None
    opened_at: datetime
    status: IncidentStatus = IncidentStatus.OPEN
    parent_incident_id: int | None = None
    merged_into_id: int | None = None


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """An incident as the decision sees it: its place, topic, time span and lemma profile.

    ``profile`` counts, for each content lemma, the messages that use it.
    """

    id: int
    status: IncidentStatus
    topic_group: str | None
    topic: str | None
    municipality_oktmo: str | None
    opened_at: datetime
    last_message_at: datetime
    message_count: int
    profile: Mapping[str, int]
    addresses: frozenset[tuple[str, ...]]
    message_keys: tuple[str, ...]
    authors: frozenset[str]
    reach: Reach
    urgency: tuple[str, ...] = ()
    parent_incident_id: int | None = None
    addressed_messages: int = 0
    entities: frozenset[str] = frozenset()
    streets: frozenset[str] = frozenset()

    @property
    def placed(self) -> bool:
        """Tell whether most of the incident's messages name its address."""
        return bool(self.addresses) and 2 * self.addressed_messages > self.message_count

    def priority(self, config: PriorityConfig | None = None) -> PriorityAssessment:
        """Return the incident's priority from its authors, reach and urgency words."""
        return assess_priority(
            PrioritySignals(
                message_count=self.message_count,
                distinct_authors=len(self.authors),
                views=self.reach.views,
                likes=self.reach.likes,
                comments=self.reach.comments,
                reposts=self.reach.reposts,
                urgency=self.urgency,
            ),
            config or PriorityConfig(),
        )


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A discarded fingerprint: messages that have it are dropped before any lookup."""

    fingerprint: str
    incident_id: int | None
    reason: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a message went where it went; stored with the link and shown to operators."""

    rule: Rule
    grouping_version: str
    incident_id: int | None = None
    score: float | None = None
    threshold: float | None = None
    shared_lemmas: tuple[str, ...] = ()
    matched_fingerprint: str | None = None
    note: str = ""
    entity: str | None = None
    entity_label: str | None = None
    topic: str | None = None
    time_gap_seconds: int | None = None
    confidence: float | None = None
    suggested_incident_id: int | None = None
    related_incident_id: int | None = None

    def to_dict(self) -> dict[str, object]:
        """Return the evidence as JSON-ready values (for the link's evidence column).

        The entity keys are present only when an entity took part (an entity attach, a
        suggestion, a related incident), so older links keep their shape.
        """
        extra: dict[str, object] = {}
        if self.entity is not None:
            extra = {
                "entity": self.entity,
                "entity_label": self.entity_label,
                "topic": self.topic,
                "time_gap_seconds": self.time_gap_seconds,
                "confidence": None if self.confidence is None else round(self.confidence, 4),
                "suggested_incident_id": self.suggested_incident_id,
                "related_incident_id": self.related_incident_id,
            }
        return extra | {
            "rule": self.rule.value,
            "grouping_version": self.grouping_version,
            "incident_id": self.incident_id,
            "score": None if self.score is None else round(self.score, 4),
            "threshold": None if self.threshold is None else round(self.threshold, 4),
            "shared_lemmas": list(self.shared_lemmas),
            "matched_fingerprint": self.matched_fingerprint,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class IncidentSeed:
    """What a new incident starts from; storage gives it an id."""

    topic_group: str | None
    topic: str | None
    municipality_oktmo: str | None
    opened_at: datetime
    first_message_key: str
    grouping_version: str


@dataclass(frozen=True, slots=True)
class Attach:
    """The message joins an open incident."""

    incident_id: int
    evidence: Evidence
    fingerprints: tuple[Fingerprint, ...]


@dataclass(frozen=True, slots=True)
class Create:
    """The message opens a new incident."""

    seed: IncidentSeed
    evidence: Evidence
    fingerprints: tuple[Fingerprint, ...]


@dataclass(frozen=True, slots=True)
class Drop:
    """The message repeats a dismissed incident: drop it."""

    tombstone: Tombstone
    evidence: Evidence
    fingerprints: tuple[Fingerprint, ...]


Decision = Attach | Create | Drop


@dataclass(frozen=True, slots=True)
class Link:
    """A message attached to an incident, as storage records it (``incident_messages``).

    ``lookup_fingerprints`` go to ``incident_fingerprints``; all carry ``grouping_version``.
    """

    message_key: str
    incident_id: int
    grouping_version: str
    fingerprints: tuple[Fingerprint, ...]
    lookup_fingerprints: tuple[Fingerprint, ...]
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class Candidates:
    """What the index found for a message: the only input of the decision besides the message.

    The mappings inside are read-only views of the index, valid until it next changes.
    """

    parent_incident: IncidentRecord | None
    fingerprint_hits: tuple[tuple[Fingerprint, IncidentRecord], ...]
    similar: tuple[IncidentRecord, ...]
    stats: TermStats
    entity_hits: tuple[tuple[Entity, IncidentRecord], ...] = ()
    street_hits: tuple[tuple[str, IncidentRecord], ...] = ()


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What a merge changed: which incidents went into the target, and which messages moved."""

    target_id: int
    merged_ids: tuple[int, ...]
    moved_message_keys: tuple[str, ...]
    moved_fingerprints: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SplitResult:
    """What a split changed: the messages and fingerprints that moved to the new incident."""

    source_id: int
    new_id: int
    moved_message_keys: tuple[str, ...]
    moved_fingerprints: tuple[str, ...]
    source_emptied: bool


# --------------------------------------------------------------------------- the pure decision


def check_tombstones(
    fingerprints: Sequence[Fingerprint], tombstones: Mapping[str, Tombstone]
) -> Drop | None:
    """Return a drop if any fingerprint of the message is tombstoned (checked before lookup)."""
    for fingerprint in fingerprints:
        tombstone = tombstones.get(fingerprint.value)
        if tombstone is not None:
            evidence = Evidence(
                rule=Rule.TOMBSTONE,
                grouping_version=fingerprint.version,
                incident_id=tombstone.incident_id,
                matched_fingerprint=fingerprint.value,
                note=f"repeats a dismissed incident: {tombstone.reason}",
            )
            return Drop(tombstone, evidence, tuple(fingerprints))
    return None


def _in_window(incident: IncidentRecord, at: datetime, window: timedelta) -> bool:
    return incident.opened_at - window <= at <= incident.last_message_at + window


def _address_conflicts(address: tuple[str, ...], known: frozenset[tuple[str, ...]]) -> bool:
    """Tell whether the message names a place the incident does not (another street or house)."""
    if not address or not known:
        return False
    for other in known:
        if other[0] != address[0]:
            continue
        if len(other) == 1 or len(address) == 1 or other[1] == address[1]:
            return False
    return True


def _topics_differ(message: GroupingMessage, incident: IncidentRecord) -> bool:
    if message.topic_group and incident.topic_group and message.topic_group != incident.topic_group:
        return True
    return bool(message.topic and incident.topic and message.topic != incident.topic)


def _specific(terms: Iterable[str], stats: TermStats, config: GroupingConfig) -> tuple[str, ...]:
    """Return the terms rare enough to tell one problem from another of its kind.

    A term is generic when at least ``generic_min_df`` indexed messages and ``generic_share`` of
    them use it ("надпись", "яма", "свет" in a big index); place names and particulars stay rare.
    """
    cutoff = max(config.generic_min_df, config.generic_share * stats.document_count)
    return tuple(t for t in terms if stats.document_frequency.get(t, 0) < cutoff)


def _place_agrees(
    address: tuple[str, ...], terms: frozenset[str], incident: IncidentRecord
) -> bool | None:
    """Tell whether message and incident are at one place: yes, no, or unknown (None).

    Both name an address: yes (conflicts are rejected before). Only one does: yes if the other
    mentions that street among its words ("с Воровского" without a number), else no: a message
    about Горького 5 does not join "нет горячей воды" from somewhere. An incident counts as
    naming its place only when at least half its messages do (one comment "и у нас на
    Советской" does not pin a district-wide power cut to one street). Neither, or only a
    numbered place ("школа 5") on one side: unknown.
    """
    if address and incident.addresses:
        return True
    if address and address[0] not in NUMBERED_KINDS:
        return address[0] in incident.profile
    if incident.placed:
        streets = [known[0] for known in incident.addresses if known[0] not in NUMBERED_KINDS]
        if streets:
            return any(street in terms for street in streets)
    return None


def _similarity(terms: frozenset[str], incident: IncidentRecord, stats: TermStats) -> Similarity:
    return profile_similarity(terms, incident.profile, incident.message_count, stats)


def _shown(sim: Similarity, labels: Mapping[str, str]) -> tuple[str, ...]:
    """Return the shared terms to show operators, as the message's own lemmas."""
    return tuple(labels.get(term, term) for term in sim.shared[:_SHARED_SHOWN])


@dataclass(frozen=True, slots=True)
class _EntityMatch:
    """The best open incident sharing a place or object with the message, and how sure."""

    confidence: float
    cap_reason: str
    entity: Entity
    incident: IncidentRecord
    sim: Similarity
    gap: timedelta


_ENTITY_BASE = 0.55  # a shared place or object, the same kind of problem
_SAME_TOPIC = 0.15
_OTHER_TOPIC = -0.2
_SAME_TOWN = 0.05
_WORDS_WEIGHT = 0.25  # reached when the words are as similar as the attach threshold
_LATE = -0.1  # the message comes more than a day after the incident's last one
_LATE_AFTER = timedelta(days=1)


def _entity_conflict(
    entities: Sequence[Entity], incident: IncidentRecord, *, houses_only: bool = False
) -> bool:
    """Tell whether message and incident name different objects of one kind and none in common.

    Another house or street, another school, route, stop, crossing: «д/с №7» and «д/с №200»
    are two kindergartens however alike the words. Kinds only one side names do not conflict (a
    message naming a school, an incident naming an address). ``houses_only``: only another house
    on a street both name counts (an address mentioned beside the shared route or school is
    incidental).
    """
    if not incident.entities:
        return False
    mine: dict[str, set[str]] = {}
    for entity in entities:
        if entity.strong:
            mine.setdefault(entity.kind.value, set()).add(entity.key)
    if not mine:
        return False
    theirs: dict[str, set[str]] = {}
    for key in incident.entities:
        theirs.setdefault(key.split(":", 1)[0], set()).add(key)
    for kind, keys in mine.items():
        known = theirs.get(kind)
        if not known or keys & known:
            continue
        if not houses_only:
            return True
        if kind == EntityKind.ADDRESS.value:
            streets = {key.split(":")[1] for key in known}
            if any(key.split(":")[1] in streets for key in keys):
                return True
    return False


def _place_terms(entity: Entity) -> frozenset[str]:
    """Return the content terms that merely repeat the entity («школ», «чапаев», «автобус»)."""
    words = [w for w in entity.label.replace("«", " ").replace("»", " ").split() if w.isalpha()]
    return frozenset(stem(normalize_lemma(w)) for w in words)


def _gap(at: datetime, incident: IncidentRecord) -> timedelta:
    if at < incident.opened_at:
        return incident.opened_at - at
    if at > incident.last_message_at:
        return at - incident.last_message_at
    return timedelta(0)


def _entity_match(
    message: GroupingMessage,
    entities: Sequence[Entity],
    terms: frozenset[str],
    candidates: Candidates,
    config: GroupingConfig,
    skip_id: int | None,
) -> _EntityMatch | None:
    """Score the open incidents sharing a strong entity and the topic group with the message.

    Confidence: a shared entity (0.55), the same topic (+0.15; another topic of the group -0.20
    and never above a suggestion), the same known town (+0.05), the words (up to
    +0.25 at the attach threshold's similarity), more than a day apart (-0.10). When the
    message's town is unknown and incidents of several towns share the entity, the town is not
    known: a suggestion at most.
    """
    towns: dict[str, set[str]] = {}
    for entity, incident in candidates.entity_hits:
        if incident.municipality_oktmo and incident.status is IncidentStatus.OPEN:
            towns.setdefault(entity.key, set()).add(incident.municipality_oktmo)
    below_merge = config.entity_merge_confidence - 0.01
    best: _EntityMatch | None = None
    for entity, incident in candidates.entity_hits:
        if incident.status is not IncidentStatus.OPEN or incident.id == skip_id:
            continue
        if not _in_window(incident, message.posted_at, config.window):
            continue
        if message.topic_group != incident.topic_group:
            continue
        here, there = message.municipality_oktmo, incident.municipality_oktmo
        if here and there and here != there:
            continue  # the same problem in another town
        if _entity_conflict(entities, incident, houses_only=True):
            continue
        # The words say whether it is the same problem; the place's own words say nothing more.
        sim = _similarity(terms - _place_terms(entity), incident, candidates.stats)
        confidence = _ENTITY_BASE + _WORDS_WEIGHT * min(1.0, sim.score / config.attach_threshold)
        cap, cap_reason = 1.0, ""
        if message.topic and incident.topic:
            if message.topic == incident.topic:
                confidence += _SAME_TOPIC
            else:
                confidence += _OTHER_TOPIC
                cap, cap_reason = below_merge, "another topic of the group"
        if here and there:
            confidence += _SAME_TOWN
        elif here is None and len(towns.get(entity.key, ())) > 1:
            cap, cap_reason = below_merge, "named in several towns"
        gap = _gap(message.posted_at, incident)
        if gap > _LATE_AFTER:
            confidence += _LATE
        confidence = max(0.0, min(cap, confidence))
        match = _EntityMatch(confidence, cap_reason, entity, incident, sim, gap)
        if best is None or (confidence, -incident.id) > (best.confidence, -best.incident.id):
            best = match
    return best


def _related(
    message: GroupingMessage,
    terms: frozenset[str],
    candidates: Candidates,
    config: GroupingConfig,
    skip_id: int | None,
) -> tuple[str, IncidentRecord, Similarity] | None:
    """Find the open incident with the same failure on the same street, at another house.

    «Нет горячей воды на Щорса 12» beside an incident about Щорса 10, or «у нас на ул. Щорса то
    же самое»: one outage, many houses. Not the same incident (another house may be another
    problem), but related: the same topic (known on both sides), a compatible town, and words
    at least ``related_threshold`` alike once the street's own name is left out.
    """
    best: tuple[str, IncidentRecord, Similarity] | None = None
    for street, incident in candidates.street_hits:
        if incident.status is not IncidentStatus.OPEN or incident.id == skip_id:
            continue
        if not _in_window(incident, message.posted_at, config.window):
            continue
        if message.topic is None or message.topic != incident.topic:
            continue
        here, there = message.municipality_oktmo, incident.municipality_oktmo
        if here and there and here != there:
            continue
        sim = _similarity(terms - {street}, incident, candidates.stats)
        if sim.score < config.related_threshold:
            continue
        if best is None or (sim.score, -incident.id) > (best[2].score, -best[1].id):
            best = (street, incident, sim)
    return best


def _topic_text(message: GroupingMessage) -> str:
    return message.topic or message.topic_group or "?"


def _entity_evidence(
    match: _EntityMatch, message: GroupingMessage, rule: Rule, version: str, config: GroupingConfig
) -> Evidence:
    return Evidence(
        rule=rule,
        grouping_version=version,
        incident_id=match.incident.id if rule is Rule.ENTITY else None,
        score=match.sim.score,
        threshold=config.entity_merge_confidence,
        shared_lemmas=_shown(match.sim, term_labels(message.lemmas)),
        matched_fingerprint=match.entity.key,
        note=(
            f"same {match.entity.label} and {_topic_text(message)}, "
            f"{_gap_text(match.gap)} apart; confidence {match.confidence:.2f}"
        ),
        entity=match.entity.key,
        entity_label=match.entity.label,
        topic=_topic_text(message),
        time_gap_seconds=int(match.gap.total_seconds()),
        confidence=match.confidence,
        suggested_incident_id=None if rule is Rule.ENTITY else match.incident.id,
    )


def _gap_text(gap: timedelta) -> str:
    minutes = int(gap.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


def decide(
    message: GroupingMessage,
    fingerprints: Sequence[Fingerprint],
    candidates: Candidates,
    config: GroupingConfig,
) -> Attach | Create:
    """Decide where a (not tombstoned) message goes, from the message and its candidates only.

    The rules, first match wins: a comment joins its post's open incident unless it is about
    something else (another topic and similarity under ``comment_threshold``); a text or address
    fingerprint of an open incident in the time window; the most similar open incident of the
    block above its threshold, if their places agree (compatible addresses, or the street named
    on the other side) or, with no place on either side, they share a rare lemma; otherwise a
    new incident. docs/grouping.md explains each rule.
    """
    fps = tuple(fingerprints)
    version = config.primary_version
    address = message.resolved_address()
    terms = content_terms(message.lemmas)
    labels = term_labels(message.lemmas)
    stats = candidates.stats
    entities = message.resolved_entities()
    left_post_note = ""

    parent = candidates.parent_incident
    if parent is not None and parent.status is IncidentStatus.OPEN:
        sim = _similarity(terms, parent, stats)
        if not _topics_differ(message, parent) or sim.score >= config.comment_threshold:
            return Attach(
                parent.id,
                Evidence(
                    rule=Rule.COMMENT_OF_POST,
                    grouping_version=version,
                    incident_id=parent.id,
                    score=sim.score,
                    threshold=config.comment_threshold,
                    shared_lemmas=_shown(sim, labels),
                    note=f"comment on post {message.parent_key}",
                ),
                fps,
            )
        left_post_note = (
            f"comment on post {message.parent_key} is about something else "
            f"(topic {message.topic or message.topic_group}, similarity {sim.score:.2f}); "
        )

    for fingerprint, incident in candidates.fingerprint_hits:
        if incident.status is not IncidentStatus.OPEN or not _in_window(
            incident, message.posted_at, config.window
        ):
            continue
        if parent is not None and incident.id == parent.id and left_post_note:
            continue
        if _entity_conflict(entities, incident):
            continue  # the same words about another school, route or house
        if (
            fingerprint.kind is FingerprintKind.TEXT
            and not address
            and not _specific(terms, stats, config)
        ):
            continue  # the same generic words ("надписи на стене") said about anywhere
        sim = _similarity(terms, incident, stats)
        rule = (
            Rule.TEXT_FINGERPRINT
            if fingerprint.kind is FingerprintKind.TEXT
            else Rule.ADDRESS_FINGERPRINT
        )
        return Attach(
            incident.id,
            Evidence(
                rule=rule,
                grouping_version=fingerprint.version,
                incident_id=incident.id,
                score=sim.score,
                shared_lemmas=_shown(sim, labels),
                matched_fingerprint=fingerprint.value,
                note=left_post_note + f"same {fingerprint.kind.value} fingerprint",
            ),
            fps,
        )

    skip = parent.id if parent is not None and left_post_note else None
    match = (
        _entity_match(message, entities, terms, candidates, config, skip)
        if candidates.entity_hits
        else None
    )
    if match is not None and match.confidence >= config.entity_merge_confidence:
        evidence = _entity_evidence(match, message, Rule.ENTITY, version, config)
        return Attach(
            match.incident.id, replace(evidence, note=left_post_note + evidence.note), fps
        )
    suggestion = (
        match
        if match is not None and match.confidence >= config.entity_suggest_confidence
        else None
    )

    block = next(
        (fp.value for fp in fps if fp.kind is FingerprintKind.BLOCK and fp.version == version),
        None,
    )
    best: tuple[float, float, IncidentRecord, Similarity] | None = None
    nearest: tuple[float, float, IncidentRecord] | None = None
    generic: list[int] = []
    placeless: list[int] = []
    for incident in candidates.similar:
        if incident.status is not IncidentStatus.OPEN:
            continue
        if parent is not None and incident.id == parent.id and left_post_note:
            continue
        if not _in_window(incident, message.posted_at, config.window):
            continue
        if (incident.topic_group, incident.municipality_oktmo) != (
            message.topic_group,
            message.municipality_oktmo,
        ):
            continue  # another block: blocking never offers it, all-pairs would
        if _address_conflicts(address, incident.addresses) or _entity_conflict(entities, incident):
            continue
        place = _place_agrees(address, terms, incident)
        if place is False:
            placeless.append(incident.id)
            continue
        sim = _similarity(terms, incident, stats)
        if place is None and not _specific(sim.shared, stats, config):
            generic.append(incident.id)
            continue  # only generic words shared and no place on either side
        threshold = config.attach_threshold
        if _topics_differ(message, incident):
            threshold += config.topic_mismatch_margin
        if message.municipality_oktmo is None:
            threshold += config.unknown_place_margin
        if nearest is None or sim.score > nearest[0]:
            nearest = (sim.score, threshold, incident)
        if sim.score >= threshold and (best is None or sim.score - threshold > best[0] - best[1]):
            best = (sim.score, threshold, incident, sim)
    if best is not None:
        score, threshold, incident, sim = best
        return Attach(
            incident.id,
            Evidence(
                rule=Rule.SIMILARITY,
                grouping_version=version,
                incident_id=incident.id,
                score=score,
                threshold=threshold,
                shared_lemmas=_shown(sim, labels),
                matched_fingerprint=block,
                note=left_post_note + "similar open incident in the same block",
            ),
            fps,
        )
    note = left_post_note + "no open incident about the same problem in the same place"
    if nearest is not None:
        note += f"; nearest #{nearest[2].id} scored {nearest[0]:.2f} < {nearest[1]:.2f}"
    if generic:
        note += f"; {len(generic)} shared only generic words and no place (e.g. #{generic[0]})"
    if placeless:
        note += (
            f"; {len(placeless)} in the block, but only one side names the place "
            f"(e.g. #{placeless[0]})"
        )
    seed = IncidentSeed(
        topic_group=message.topic_group,
        topic=message.topic,
        municipality_oktmo=message.municipality_oktmo,
        opened_at=message.posted_at,
        first_message_key=message.key,
        grouping_version=version,
    )
    created = Evidence(
        rule=Rule.NEW_INCIDENT,
        grouping_version=version,
        score=None if nearest is None else nearest[0],
        threshold=None if nearest is None else nearest[1],
        matched_fingerprint=block,
        note=note,
    )
    related = (
        _related(message, terms, candidates, config, skip)
        if suggestion is None and candidates.street_hits
        else None
    )
    if related is not None:
        street, incident, sim = related
        created = replace(
            created,
            note=f"{note}; related: the same {_topic_text(message)} on the same street as "
            f"#{incident.id} (similarity {sim.score:.2f})",
            entity=f"street:{street}",
            entity_label=street,
            topic=_topic_text(message),
            time_gap_seconds=int(_gap(message.posted_at, incident).total_seconds()),
            related_incident_id=incident.id,
        )
    if suggestion is not None:
        # Not sure enough to merge: the operator is offered the merge instead.
        offered = _entity_evidence(suggestion, message, Rule.NEW_INCIDENT, version, config)
        why = f"; {suggestion.cap_reason}" if suggestion.cap_reason else ""
        created = replace(
            offered,
            score=created.score,
            threshold=config.entity_merge_confidence,
            matched_fingerprint=block,
            note=(
                f"{note}; possibly the same as #{suggestion.incident.id}: {offered.note}"
                f" < {config.entity_merge_confidence:.2f}{why}"
            ),
        )
    return Create(seed, created, fps)


# --------------------------------------------------------------------------- the index


@dataclass(slots=True)
class _Entry:
    """One message in the index."""

    key: str
    incident_id: int
    #: Its content terms in the frozenset's own order (a tuple is a quarter of the size, and the
    #: counters it updates see the terms in the order they always did).
    terms: tuple[str, ...]
    address: tuple[str, ...]
    posted_at: datetime
    author_id: str | None
    reach: Reach
    urgency: tuple[str, ...]
    lookup: tuple[str, ...]  # text and address fingerprints (all versions)
    block: tuple[str, str, int]
    entities: tuple[str, ...] = ()  # keys of the strong entities (router.entities)
    streets: tuple[str, ...] = ()  # street stems of its addresses and streets


@dataclass(slots=True)
class _Incident:
    """The index's mutable state of one incident."""

    id: int
    status: IncidentStatus
    topic_group: str | None
    topic: str | None
    municipality_oktmo: str | None
    opened_at: datetime
    last_message_at: datetime
    parent_incident_id: int | None = None
    merged_into_id: int | None = None
    keys: dict[str, None] = field(default_factory=dict)  # insertion-ordered set
    profile: Counter[str] = field(default_factory=Counter)
    addresses: Counter[tuple[str, ...]] = field(default_factory=Counter)
    authors: Counter[str] = field(default_factory=Counter)
    urgency: Counter[str] = field(default_factory=Counter)
    lookup: Counter[str] = field(default_factory=Counter)
    reach: Reach = field(default_factory=Reach)
    entities: Counter[str] = field(default_factory=Counter)
    streets: Counter[str] = field(default_factory=Counter)
    #: Bumped whenever a message is attached or detached (the counters above change).
    revision: int = 0
    #: The last snapshot :meth:`GroupingIndex._record` built, with the state it was built from.
    snapshot: tuple[tuple[object, ...], IncidentRecord] | None = None

    def state(self) -> tuple[object, ...]:
        """Return what a snapshot depends on besides the counters (set directly elsewhere)."""
        return (
            self.revision,
            self.status,
            self.topic_group,
            self.topic,
            self.municipality_oktmo,
            self.opened_at,
            self.last_message_at,
            self.parent_incident_id,
        )


class GroupingIndex:
    """Open incidents indexed for grouping: fingerprints, tombstones and blocked lemma postings.

    The index is a cache of stored data: rebuild it with :meth:`load` (or :meth:`add_incident`,
    :meth:`add_message`, :meth:`add_tombstone`) and keep it in step with :meth:`apply`. Blocks are
    topic group x municipality x day; inside a block, a lemma posting list maps each content lemma
    to the incidents using it, so a message is compared only with incidents sharing a lemma.
    """

    def __init__(self, config: GroupingConfig | None = None) -> None:
        self.config = config or GroupingConfig()
        self._incidents: dict[int, _Incident] = {}
        self._entries: dict[str, _Entry] = {}
        self._lookup: dict[str, set[int]] = {}
        self._blocks: dict[tuple[str, str, int], dict[str, set[int]]] = {}
        self._tombstones: dict[str, Tombstone] = {}
        self._df: Counter[str] = Counter()
        # (entity key, topic group) -> incidents, in every municipality: a place or object
        # named the same way is looked up whether or not the message's town is known.
        self._entity_postings: dict[tuple[str, str], set[int]] = {}
        self._street_postings: dict[tuple[str, str], set[int]] = {}
        self._streets = StreetVocabulary()
        # One tuple per block for all its entries (dropped with the block's postings).
        self._block_keys: dict[tuple[str, str, int], tuple[str, str, int]] = {}

    # ----------------------------------------------------------------- reading

    def __len__(self) -> int:
        """Return the number of messages in the index."""
        return len(self._entries)

    def incident(self, incident_id: int) -> IncidentRecord:
        """Return a snapshot of an incident."""
        return self._record(self._get(incident_id), copy=True)

    def incident_of(self, message_key: str) -> int | None:
        """Return the incident a message is attached to (after merges), or None."""
        entry = self._entries.get(message_key)
        return None if entry is None else self._resolve(entry.incident_id)

    def tombstones(self) -> Mapping[str, Tombstone]:
        """Return the tombstones by fingerprint (read-only)."""
        return MappingProxyType(self._tombstones)

    def open_incident_ids(self) -> tuple[int, ...]:
        """Return the ids of the incidents still collecting messages."""
        return tuple(i.id for i in self._incidents.values() if i.status is IncidentStatus.OPEN)

    def fingerprints(self, message: GroupingMessage) -> tuple[Fingerprint, ...]:
        """Return the message's fingerprints for every configured version."""
        return fingerprints_for(message.fingerprint_input(), self.config.versions)

    # ----------------------------------------------------------------- deciding

    def entities_of(self, message: GroupingMessage) -> tuple[Entity, ...]:
        """Return the message's entities with street typos reconciled to known streets."""
        return self._streets.normalise(message.resolved_entities(), learn=False)

    def route(self, message: GroupingMessage) -> Decision:
        """Decide where a message goes: tombstones first, then lookup, then :func:`decide`."""
        found = message.resolved_entities()
        if found:  # most messages name nothing: skip the copy
            message = replace(message, entities=self._streets.normalise(found, learn=False))
        fps = self.fingerprints(message)
        dropped = check_tombstones(fps, self._tombstones)
        if dropped is not None:
            return dropped
        return decide(message, fps, self.lookup(message, fps), self.config)

    def lookup(self, message: GroupingMessage, fingerprints: Sequence[Fingerprint]) -> Candidates:
        """Find the incidents a message may join: its post's, fingerprint hits, blocked peers."""
        parent: IncidentRecord | None = None
        if message.parent_key is not None:
            parent_id = self.incident_of(message.parent_key)
            if parent_id is not None:
                parent = self._record(self._incidents[parent_id])
        hits: list[tuple[Fingerprint, IncidentRecord]] = []
        seen_hits: set[int] = set()
        for fingerprint in fingerprints:
            if fingerprint.kind is FingerprintKind.BLOCK:
                continue
            for raw_id in sorted(self._lookup.get(fingerprint.value, ())):
                incident = self._incidents[self._resolve(raw_id)]
                if incident.status is IncidentStatus.OPEN and incident.id not in seen_hits:
                    seen_hits.add(incident.id)
                    hits.append((fingerprint, self._record(incident)))
        terms = content_terms(message.lemmas)
        similar = tuple(self._record(self._incidents[i]) for i in self._similar_ids(message, terms))
        stats = TermStats(len(self._entries), MappingProxyType(self._df))
        return Candidates(
            parent,
            tuple(hits),
            similar,
            stats,
            self._entity_hits(message),
            self._street_hits(message),
        )

    def _street_hits(self, message: GroupingMessage) -> tuple[tuple[str, IncidentRecord], ...]:
        entities = message.resolved_entities()
        if not entities:
            return ()
        group = message.topic_group or "?"
        streets = sorted({e.street for e in entities if e.street})
        hits: list[tuple[str, IncidentRecord]] = []
        for street in streets:
            found = {self._resolve(i) for i in self._street_postings.get((street, group), ())}
            for incident_id in sorted(found):
                incident = self._incidents[incident_id]
                if incident.status is IncidentStatus.OPEN:
                    hits.append((street, self._record(incident)))
        return tuple(hits)

    def _entity_hits(self, message: GroupingMessage) -> tuple[tuple[Entity, IncidentRecord], ...]:
        entities = message.resolved_entities()
        if not entities:
            return ()
        group = message.topic_group or "?"
        hits: list[tuple[Entity, IncidentRecord]] = []
        for entity in entities:
            if not entity.strong:
                continue
            found = {
                self._resolve(raw_id)
                for raw_id in self._entity_postings.get((entity.key, group), ())
            }
            for incident_id in sorted(found):
                incident = self._incidents[incident_id]
                if incident.status is IncidentStatus.OPEN:
                    hits.append((entity, self._record(incident)))
        return tuple(hits)

    def _similar_ids(self, message: GroupingMessage, terms: frozenset[str]) -> list[int]:
        group = message.topic_group or "?"
        place = message.municipality_oktmo or "?"
        window = self.config.window
        first = time_bucket(message.posted_at - window)
        last = time_bucket(message.posted_at + window)
        shared: Counter[int] = Counter()
        crowded: list[set[int]] = []
        for bucket in range(first, last + 1):
            postings = self._blocks.get((group, place, bucket))
            if postings is None:
                continue
            for term in terms:
                ids = postings.get(term)
                if not ids:
                    continue
                if len(ids) > self.config.posting_cap:
                    crowded.append(ids)
                    continue
                shared.update(ids)
        if not shared and crowded:
            # Every lemma is common in the block (a surge): compare with the most recent
            # incidents of the rarest lemma only.
            rarest = min(crowded, key=len)
            recent = sorted(rarest, key=lambda i: self._incidents[i].last_message_at, reverse=True)[
                : self.config.posting_cap
            ]
            shared.update(recent)
        # The incidents sharing the most lemmas, twice as many as kept (some may be closed or
        # merged away).
        top = shared.most_common(2 * self.config.max_candidates)
        resolved: dict[int, int] = {}
        for raw_id, count in top:
            incident_id = self._resolve(raw_id)
            if self._incidents[incident_id].status is IncidentStatus.OPEN:
                resolved[incident_id] = max(resolved.get(incident_id, 0), count)
        ranked = sorted(
            resolved,
            key=lambda i: (-resolved[i], -self._incidents[i].last_message_at.timestamp(), i),
        )
        return ranked[: self.config.max_candidates]

    # ----------------------------------------------------------------- changing

    def apply(
        self, message: GroupingMessage, decision: Decision, *, incident_id: int | None = None
    ) -> Link | None:
        """Record a decision: attach the message, or open the incident storage has created.

        ``incident_id`` is required for a :class:`Create` (the id storage gave the new incident).
        A :class:`Drop` changes nothing and returns None.
        """
        if isinstance(decision, Drop):
            return None
        if isinstance(decision, Create):
            if incident_id is None:
                raise GroupingError("apply(Create) needs the new incident's id")
            self.add_incident(
                IncidentHeader(
                    id=incident_id,
                    topic_group=decision.seed.topic_group,
                    topic=decision.seed.topic,
                    municipality_oktmo=decision.seed.municipality_oktmo,
                    opened_at=decision.seed.opened_at,
                )
            )
            target = incident_id
        else:
            target = decision.incident_id
        fps = self.add_message(target, message, decision.fingerprints)
        lookup = tuple(fp for fp in fps if fp.kind is not FingerprintKind.BLOCK)
        evidence = replace(decision.evidence, incident_id=target)
        return Link(message.key, target, self.config.primary_version, fps, lookup, evidence)

    def process(
        self, message: GroupingMessage, create: Callable[[IncidentSeed], int]
    ) -> tuple[Decision, Link | None]:
        """Route a message and apply the decision; ``create`` stores a new incident."""
        decision = self.route(message)
        new_id = create(decision.seed) if isinstance(decision, Create) else None
        return decision, self.apply(message, decision, incident_id=new_id)

    def add_incident(self, header: IncidentHeader) -> None:
        """Add an incident (new, or loaded from storage) without messages."""
        if header.id in self._incidents:
            raise GroupingError(f"incident {header.id} is already in the index")
        self._incidents[header.id] = _Incident(
            id=header.id,
            status=header.status,
            topic_group=header.topic_group,
            topic=header.topic,
            municipality_oktmo=header.municipality_oktmo,
            opened_at=header.opened_at,
            last_message_at=header.opened_at,
            parent_incident_id=header.parent_incident_id,
            merged_into_id=header.merged_into_id,
        )

    def add_message(
        self,
        incident_id: int,
        message: GroupingMessage,
        fingerprints: Sequence[Fingerprint] | None = None,
    ) -> tuple[Fingerprint, ...]:
        """Attach a message to an incident in the index; return the fingerprints recorded."""
        if message.key in self._entries:
            raise GroupingError(f"message {message.key} is already attached")
        incident = self._get(incident_id)
        fps = tuple(fingerprints) if fingerprints is not None else self.fingerprints(message)
        address = message.resolved_address()
        found = message.resolved_entities()
        entities = self._streets.normalise(found) if found else found
        block = (
            message.topic_group or "?",
            message.municipality_oktmo or "?",
            time_bucket(message.posted_at),
        )
        entry = _Entry(
            key=message.key,
            incident_id=incident.id,
            terms=tuple(content_terms(message.lemmas)),
            address=address,
            posted_at=message.posted_at,
            author_id=message.author_id,
            reach=message.reach,
            urgency=tuple(m.phrase for m in find_urgency_markers(message.lemmas)),
            lookup=tuple(fp.value for fp in fps if fp.kind is not FingerprintKind.BLOCK),
            block=self._block_keys.setdefault(block, block),
            entities=tuple(e.key for e in entities if e.strong) if entities else (),
            streets=tuple(sorted({e.street for e in entities if e.street})) if entities else (),
        )
        self._entries[message.key] = entry
        self._df.update(entry.terms)
        self._attach_entry(incident, entry)
        return fps

    def add_tombstone(self, tombstone: Tombstone) -> None:
        """Add a tombstone (new, or loaded from storage)."""
        self._tombstones[tombstone.fingerprint] = tombstone

    def add_fingerprint(self, fingerprint: str, incident_id: int) -> None:
        """Point a stored lookup fingerprint at an incident (one no configured version computes)."""
        self._lookup.setdefault(fingerprint, set()).add(self._get(incident_id).id)

    def load(
        self,
        incidents: Iterable[IncidentHeader],
        messages: Iterable[tuple[int, GroupingMessage]],
        tombstones: Iterable[Tombstone] = (),
    ) -> None:
        """Rebuild the index from stored incidents, their (incident id, message) links, tombstones.

        Fingerprints are recomputed for every configured version, so adding a new version to
        ``GroupingConfig.versions`` and reloading indexes existing incidents under it too.
        """
        for header in incidents:
            self.add_incident(header)
        for incident_id, message in messages:
            self.add_message(incident_id, message)
        for tombstone in tombstones:
            self.add_tombstone(tombstone)

    def close(self, incident_id: int) -> None:
        """Stop an incident collecting messages (answered and closed, or rejected)."""
        self._get(incident_id).status = IncidentStatus.CLOSED

    def reopen(self, incident_id: int) -> None:
        """Let a closed incident collect messages again (the citizen says "не решено")."""
        incident = self._get(incident_id)
        if incident.status is IncidentStatus.MERGED:
            raise GroupingError(f"incident {incident_id} was merged into {incident.merged_into_id}")
        incident.status = IncidentStatus.OPEN

    def dismiss(self, incident_id: int, *, reason: str, at: datetime) -> tuple[Tombstone, ...]:
        """Dismiss an incident: close it and tombstone the text fingerprints of its messages.

        Address fingerprints are not tombstoned: a real complaint about that address later must
        not be dropped because someone once posted nonsense about it.
        """
        incident = self._get(incident_id)
        incident.status = IncidentStatus.DISMISSED
        created: list[Tombstone] = []
        for value in sorted(incident.lookup):
            if ":text:" in value and value not in self._tombstones:
                tombstone = Tombstone(value, incident.id, reason, at)
                self._tombstones[value] = tombstone
                created.append(tombstone)
        return tuple(created)

    def locate(self, incident_id: int, municipality_oktmo: str) -> bool:
        """Give an incident of unknown municipality the one a message about its place names.

        An incident opened from region-wide communities («Чапаева 5, мусор») learns its town
        when a located message about the same entity joins it. Returns whether it changed.
        """
        incident = self._get(incident_id)
        if incident.municipality_oktmo is not None:
            return False
        incident.municipality_oktmo = municipality_oktmo
        return True

    def set_parent(self, child_ids: Iterable[int], parent_id: int) -> tuple[int, ...]:
        """Make incidents children of a parent incident (a surge); return those that changed."""
        self._get(parent_id)
        changed = []
        for child_id in child_ids:
            child = self._get(child_id)
            if child.id != parent_id and child.parent_incident_id != parent_id:
                child.parent_incident_id = parent_id
                changed.append(child.id)
        return tuple(changed)

    def merge(self, target_id: int, source_ids: Iterable[int]) -> MergeResult:
        """Merge incidents into a target: their messages and fingerprints now collect there."""
        target = self._get(target_id)
        if target.status is not IncidentStatus.OPEN:
            raise GroupingError(f"cannot merge into incident {target_id}: it is {target.status}")
        merged: list[int] = []
        moved: list[str] = []
        fingerprints: set[str] = set()
        for source_id in source_ids:
            source = self._get(source_id)
            if source.id == target.id or source.id in merged:
                continue
            for key in list(source.keys):
                entry = self._entries[key]
                self._detach_entry(source, entry)
                self._attach_entry(target, entry)
                moved.append(key)
                fingerprints.update(entry.lookup)
            source.status = IncidentStatus.MERGED
            source.merged_into_id = target.id
            merged.append(source.id)
            for child in self._incidents.values():
                if child.parent_incident_id == source.id:
                    child.parent_incident_id = target.id
        return MergeResult(target.id, tuple(merged), tuple(moved), tuple(sorted(fingerprints)))

    def split(
        self, incident_id: int, message_keys: Iterable[str], new_incident_id: int
    ) -> SplitResult:
        """Move some messages of an incident into a new incident (storage gave its id)."""
        source = self._get(incident_id)
        keys = list(dict.fromkeys(message_keys))
        if not keys:
            raise GroupingError("split needs at least one message")
        for key in keys:
            if key not in source.keys:
                raise GroupingError(f"message {key} is not in incident {incident_id}")
        if new_incident_id in self._incidents:
            raise GroupingError(f"incident {new_incident_id} is already in the index")
        first = min((self._entries[k] for k in keys), key=lambda e: e.posted_at)
        self.add_incident(
            IncidentHeader(
                id=new_incident_id,
                topic_group=first.block[0] if first.block[0] != "?" else None,
                topic=source.topic,
                municipality_oktmo=first.block[1] if first.block[1] != "?" else None,
                opened_at=first.posted_at,
                parent_incident_id=source.parent_incident_id,
            )
        )
        new = self._incidents[new_incident_id]
        fingerprints: set[str] = set()
        for key in keys:
            entry = self._entries[key]
            self._detach_entry(source, entry)
            self._attach_entry(new, entry)
            fingerprints.update(entry.lookup)
        emptied = not source.keys
        if emptied:
            source.status = IncidentStatus.CLOSED
        else:
            source.last_message_at = max(self._entries[k].posted_at for k in source.keys)
        return SplitResult(source.id, new.id, tuple(keys), tuple(sorted(fingerprints)), emptied)

    def expire(self, before: datetime) -> int:
        """Forget the lemma postings of days wholly before ``before``; return blocks dropped."""
        limit = time_bucket(before)
        old = [block for block in self._blocks if block[2] < limit]
        for block in old:
            del self._blocks[block]
        for block in [b for b in self._block_keys if b[2] < limit]:
            del self._block_keys[block]
        return len(old)

    # ----------------------------------------------------------------- internals

    def _get(self, incident_id: int) -> _Incident:
        try:
            return self._incidents[incident_id]
        except KeyError:
            raise GroupingError(f"incident {incident_id} is not in the index") from None

    def _resolve(self, incident_id: int) -> int:
        seen = 0
        incident = self._incidents[incident_id]
        while incident.merged_into_id is not None and seen < len(self._incidents):
            incident = self._incidents[incident.merged_into_id]
            seen += 1
        return incident.id

    def _attach_entry(self, incident: _Incident, entry: _Entry) -> None:
        entry.incident_id = incident.id
        incident.revision += 1
        incident.snapshot = None  # out of date now: rebuilt when next read, not kept meanwhile
        incident.keys[entry.key] = None
        incident.profile.update(entry.terms)
        if entry.address:
            incident.addresses[entry.address] += 1
        if entry.author_id is not None:
            incident.authors[entry.author_id] += 1
        incident.urgency.update(entry.urgency)
        incident.lookup.update(entry.lookup)
        incident.reach = incident.reach + entry.reach
        incident.last_message_at = max(incident.last_message_at, entry.posted_at)
        incident.opened_at = min(incident.opened_at, entry.posted_at)
        for value in entry.lookup:
            self._lookup.setdefault(value, set()).add(incident.id)
        postings = self._blocks.setdefault(entry.block, {})
        for term in entry.terms:
            postings.setdefault(term, set()).add(incident.id)
        if entry.entities:
            incident.entities.update(entry.entities)
            for key in entry.entities:
                self._entity_postings.setdefault((key, entry.block[0]), set()).add(incident.id)
        if entry.streets:
            incident.streets.update(entry.streets)
            for street in entry.streets:
                self._street_postings.setdefault((street, entry.block[0]), set()).add(incident.id)

    def _detach_entry(self, incident: _Incident, entry: _Entry) -> None:
        del incident.keys[entry.key]
        incident.revision += 1
        incident.snapshot = None
        incident.profile.subtract(entry.terms)
        incident.profile += Counter()  # drop zero counts
        if entry.address:
            incident.addresses[entry.address] -= 1
            incident.addresses += Counter()
        if entry.author_id is not None:
            incident.authors[entry.author_id] -= 1
            incident.authors += Counter()
        incident.urgency.subtract(entry.urgency)
        incident.urgency += Counter()
        incident.reach = incident.reach - entry.reach
        for key in entry.entities:
            incident.entities[key] -= 1
            if incident.entities[key] <= 0:
                del incident.entities[key]
                self._entity_postings.get((key, entry.block[0]), set()).discard(incident.id)
        for street in entry.streets:
            incident.streets[street] -= 1
            if incident.streets[street] <= 0:
                del incident.streets[street]
                self._street_postings.get((street, entry.block[0]), set()).discard(incident.id)
        for value in entry.lookup:
            incident.lookup[value] -= 1
            if incident.lookup[value] <= 0:
                del incident.lookup[value]
                self._lookup.get(value, set()).discard(incident.id)
        # Lemma postings are left as they are: a stale posting only adds a candidate, and the
        # decision scores candidates on their current profile.

    def _record(self, incident: _Incident, *, copy: bool = False) -> IncidentRecord:
        # Grouping reads ~20 candidates a message: a snapshot is built once per change of its
        # incident, not once per probe (its profile is a live view, as before).
        if copy:
            return self._build_record(incident, dict(incident.profile))
        state = incident.state()
        if incident.snapshot is not None and incident.snapshot[0] == state:
            return incident.snapshot[1]
        record = self._build_record(incident, MappingProxyType(incident.profile))
        incident.snapshot = (state, record)
        return record

    def _build_record(self, incident: _Incident, profile: Mapping[str, int]) -> IncidentRecord:
        return IncidentRecord(
            id=incident.id,
            status=incident.status,
            topic_group=incident.topic_group,
            topic=incident.topic,
            municipality_oktmo=incident.municipality_oktmo,
            opened_at=incident.opened_at,
            last_message_at=incident.last_message_at,
            message_count=len(incident.keys),
            profile=profile,
            addresses=frozenset(incident.addresses),
            addressed_messages=sum(incident.addresses.values()),
            message_keys=tuple(incident.keys),
            authors=frozenset(incident.authors),
            reach=incident.reach,
            urgency=tuple(sorted(incident.urgency)),
            parent_incident_id=incident.parent_incident_id,
            entities=frozenset(incident.entities) if incident.entities else _NONE,
            streets=frozenset(incident.streets) if incident.streets else _NONE,
        )
