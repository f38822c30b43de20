"""The processing pipeline: stored messages -> classify -> group -> incidents, routed."""

# Shape (house style, rule 4): a list of small stages with one contract, ``process(item) -> item``
# or ``raise Drop(reason)``, plus a ``prepare(batch)`` hook for work done once per batch (the
# classifier's batch path, one query for links). The order is DEFAULT_STAGES unless the caller
# passes another (config.py has no key for it yet; see docs/pipeline.md). Every drop, error and
# outcome bumps a named counter in ``Pipeline.counters`` (``pipeline.drop.not_complaint``,
# ``pipeline.error.classify``, ...), which the status page reads.
#
# Exactly once: a message is "processed" when it has a classifications row of the current model
# version. That row is written in the same transaction as the message's grouping effect (new
# incident or link, fingerprints, counters, events), or on its own when the message is dropped.
# A crash mid-batch therefore leaves each message either fully processed or untouched, and a
# re-run picks the untouched ones up again; a message already linked is skipped.

from __future__ import annotations

import copy
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from types import MappingProxyType
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.outage import database_unreachable
from app.related import RelatedLink, RelatedRequest, RelatedSkipped, link_related_many
from app.workflow import SYSTEM, MessageLink, Workflow, WorkflowError
from classifier.pipeline import LemmatizerLike
from classifier.types import Classification, ClassificationInput
from router.calendar import CalendarError
from router.fingerprint import FingerprintKind, content_terms, extract_address
from router.grouping import (
    Attach,
    Create,
    Decision,
    GroupingConfig,
    GroupingError,
    GroupingIndex,
    GroupingMessage,
    IncidentHeader,
    IncidentStatus,
    Reach,
    Tombstone,
)
from router.grouping import Drop as GroupingDrop
from router.grouping import Rule as GroupingRule
from router.jurisdiction import ANY, Jurisdiction, RouteDecision, RoutingSubject
from router.notices import OVERRUN, OutageNotice, announces_outage, explain, parse_notice
from router.priority import PriorityConfig, PrioritySignals, assess_priority, urgency_markers
from router.surge import SurgeConfig, SurgeDetector, SurgeEvent, SurgeUpdate
from router.thread import (
    ParentIncident,
    ThreadAction,
    ThreadDecision,
    ThreadMessage,
    addresses_commenter,
    decide_thread,
)
from storage.enums import IncidentStatus as StoredStatus
from storage.enums import MessageKind, Priority
from storage.repositories import IncidentRecord, IncidentRepository, NewIncident
from storage.repositories.classifications import ClassificationRepository, PendingMessage
from storage.repositories.events import EventRepository
from storage.repositories.grouping import GroupingRepository, IncidentCounters
from storage.repositories.notices import NoticeRepository

__all__ = [
    "DEFAULT_STAGES",
    "Drop",
    "Item",
    "Pipeline",
    "RebuildReport",
    "RunReport",
    "Stage",
    "TextClassifier",
    "routing_subject",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

#: The stages in their default order; a pipeline may be given another order of these names.
DEFAULT_STAGES: tuple[str, ...] = ("classify", "complaint", "fresh", "group", "store", "route")

#: Stages that write: a failure in one of them rolls the batch's transaction back.
WRITING_STAGES = frozenset({"store", "route"})

#: A message whose writes fail on their own this many runs is skipped (see Pipeline.failures).
POISON_AFTER = 3

#: Incident ids reserved at a time for a batch's new incidents (see Pipeline.open_later).
RESERVE_IDS = 16


class Drop(Exception):
    """Raised by a stage: this message goes no further (counted as ``pipeline.drop.<reason>``)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        """Drop for ``reason`` (a counter name part), with an optional detail for logs."""
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class TextClassifier(Protocol):
    """What the pipeline needs of ``classifier.pipeline.Classifier``."""

    @property
    def version(self) -> str:
        """The model version stored with every verdict."""

    def classify_many(self, items: Sequence[ClassificationInput]) -> list[Classification]:
        """Classify a batch, in order."""


@dataclass(slots=True)
class Item:
    """One message on its way through the stages."""

    message: PendingMessage
    classification: Classification | None = None
    lemmas: tuple[str, ...] = ()
    lemmatized: bool = False  # ``lemmas`` set (by the classify stage's batch call)
    grouping: GroupingMessage | None = None
    decision: Decision | None = None
    incident: IncidentRecord | None = None
    created: bool = False
    stored: bool = False
    thread: ThreadDecision | None = None
    notice: OutageNotice | None = None  # the planned outage the complaint falls under


class Stage(Protocol):
    """One step: ``prepare`` once per batch, then ``process`` each item (or raise Drop)."""

    name: str

    def prepare(self, items: Sequence[Item]) -> None:
        """Do the batch's shared work (one model call, one query)."""

    def process(self, item: Item) -> Item:
        """Return the item, changed, or raise :class:`Drop`."""


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one run over stored messages did."""

    classified: int = 0
    complaints: int = 0
    created: int = 0
    attached: int = 0
    routed_auto: int = 0
    triage: int = 0
    dropped: Mapping[str, int] = field(default_factory=dict)
    errors: Mapping[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """Return the report as printable lines."""
        rate = self.classified / self.seconds if self.seconds > 0 else 0.0
        out = [
            f"classified: {self.classified} ({rate:.0f} messages/s)",
            f"complaints: {self.complaints}",
            f"incidents created: {self.created}",
            f"attached to incidents: {self.attached}",
            f"routed automatically: {self.routed_auto}",
            f"sent to triage: {self.triage}",
        ]
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(self.dropped.items())) or "none"
        out.append(f"dropped: {dropped}")
        if self.errors:
            out.append("errors: " + ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items())))
        return out


@dataclass(frozen=True, slots=True)
class RebuildReport:
    """How the grouping index was rebuilt from the database."""

    incidents: int
    messages: int
    tombstones: int
    seconds: float


# --------------------------------------------------------------------------- the stages


class ClassifyStage:
    """Classify the batch with the injected classifier; keep lemmas for grouping."""

    name = "classify"

    def __init__(self, classifier: TextClassifier, lemmatizer: LemmatizerLike) -> None:
        """Use ``classifier`` for verdicts and ``lemmatizer`` for grouping's lemmas."""
        self.classifier = classifier
        self.lemmatizer = lemmatizer

    def prepare(self, items: Sequence[Item]) -> None:
        """Classify every item of the batch in one call (keeping the lemmas the models read)."""
        todo = [i for i in items if i.classification is None]
        inputs = [
            ClassificationInput(
                text=i.message.text,
                source_municipality=i.message.source_municipality_oktmo
                or i.message.source_municipality,
                lat=i.message.geo_lat,
                lon=i.message.geo_lon,
                is_comment=i.message.kind is MessageKind.COMMENT,
            )
            for i in todo
        ]
        with_lemmas = getattr(self.classifier, "classify_with_lemmas", None)
        if with_lemmas is not None and getattr(self.classifier, "lemmatizer", None) is (
            self.lemmatizer
        ):
            # The classifier's lemmas are grouping's: each text is lemmatised once, not twice.
            for item, (result, lemmas) in zip(todo, with_lemmas(inputs), strict=True):
                item.classification, item.lemmas = result, tuple(lemmas)
                item.lemmatized = True
            return
        for item, result in zip(todo, self.classifier.classify_many(inputs), strict=True):
            item.classification = result

    def process(self, item: Item) -> Item:
        """Pass the classified item on with its lemmas."""
        if item.classification is None:
            raise Drop("unclassified")
        if not item.lemmatized:
            item.lemmas = tuple(self.lemmatizer.lemmatize_text(item.message.text))
            item.lemmatized = True
        return item


class ComplaintStage:
    """Stop what is not a complaint (ads, congratulations, chat), reading comments in their thread.

    With a pipeline, a comment is read with its post (router/thread.py): support for the post's
    incident and the same problem elsewhere go on to grouping; talk between commenters stops.
    """

    name = "complaint"

    def __init__(self, pipeline: Pipeline | None = None) -> None:
        """Read threads through ``pipeline``'s grouping index (none: the verdict alone)."""
        self.pipeline = pipeline

    def prepare(self, items: Sequence[Item]) -> None:
        """Nothing to share."""

    def process(self, item: Item) -> Item:
        """Drop a message that is no complaint and, read in its thread, nothing to act on."""
        if item.classification is None:
            raise Drop("not_complaint")
        if self.pipeline is not None:
            item.thread = self.pipeline.read_thread(item)
            action = item.thread.action
            if action in (ThreadAction.SUPPORT, ThreadAction.SAME_ELSEWHERE):
                return item
            if action is ThreadAction.DISCUSSION:
                raise Drop("discussion", item.thread.reason)
        if not item.classification.is_complaint:
            if (
                self.pipeline is not None
                and item.classification.kind in ("notice", "news")
                and item.message.parent_key is None  # the community's post, not a comment
            ):
                self.pipeline.remember_notice(item)
            raise Drop("not_complaint")
        if (
            self.pipeline is not None
            and item.message.parent_key is None
            and announces_outage(item.lemmas)
        ):  # «Администрация сообщает: завтра плановое отключение…» names a failure: no complaint
            self.pipeline.remember_notice(item)
            raise Drop("notice")
        return item


class FreshStage:
    """Stop deleted, empty and old messages (a first sync must not open last year's incidents)."""

    name = "fresh"

    def __init__(self, clock: Clock, max_age: timedelta | None) -> None:
        """Drop messages posted more than ``max_age`` before ``clock()`` (None: no limit)."""
        self.clock = clock
        self.max_age = max_age

    def prepare(self, items: Sequence[Item]) -> None:
        """Nothing to share."""

    def process(self, item: Item) -> Item:
        """Drop a deleted, empty or too old message."""
        if item.message.deleted:
            raise Drop("deleted")
        if not item.message.text.strip():
            raise Drop("empty")
        if self.max_age is not None and item.message.posted_at < self.clock() - self.max_age:
            raise Drop("too_old")
        return item


class GroupStage:
    """Skip linked messages; tombstones first, then the index's attach-or-create decision."""

    name = "group"

    def __init__(self, pipeline: Pipeline) -> None:
        """Read the index and the database through ``pipeline``."""
        self.pipeline = pipeline
        self._linked: dict[int, int] = {}

    def prepare(self, items: Sequence[Item]) -> None:
        """Find which messages of the batch are already linked (one query)."""
        with self.pipeline.sessions() as session:
            self._linked = GroupingRepository(session).linked([i.message.id for i in items])

    def process(self, item: Item) -> Item:
        """Decide where the message goes; Drop when linked already or tombstoned."""
        message = item.message
        if message.id in self._linked:
            raise Drop("already_linked")
        if item.classification is None:
            raise Drop("unclassified")
        item.grouping = GroupingMessage.from_classification(
            key=message.key,
            network=message.network.value,
            text=message.text,
            lemmas=item.lemmas,
            classification=item.classification,
            posted_at=message.posted_at,
            parent_key=message.parent_key,
            author_id=message.author_id,
            reach=Reach(message.views, message.likes, message.comments, message.reposts),
        )
        # The address once, not once per use (fingerprints, then the index's entry).
        item.grouping = replace(item.grouping, address=extract_address(message.text))
        thread = item.thread
        if thread is not None and thread.action is ThreadAction.SAME_ELSEWHERE:
            # The post's topic at the comment's place: grouped as a message of its own.
            item.grouping = replace(
                item.grouping,
                topic_group=thread.topic_group,
                topic=thread.topic,
                parent_key=None,
            )
            item.classification = replace(
                item.classification, topic_group=thread.topic_group, topic=thread.topic
            )
        decision = self.pipeline.index.route(item.grouping)
        if isinstance(decision, GroupingDrop):
            raise Drop("tombstoned", decision.evidence.note)
        notice = self.pipeline.explain_notice(item)
        if notice is not None:
            item.notice = notice
            note = f"{decision.evidence.note}; {notice.label} ({notice.key})".lstrip("; ")
            decision = replace(decision, evidence=replace(decision.evidence, note=note))
        if thread is not None and thread.action is not ThreadAction.OWN:
            item.decision = _thread_decision(thread, decision, self.pipeline.index)
            return item
        if isinstance(decision, Create) and _thin_comment(item.grouping, item.lemmas):
            # "Та же беда", "+1", "А куда звонили?" under a post that is no incident: without
            # the post there is nothing to act on, and an incident titled so helps nobody.
            raise Drop("comment_without_context")
        item.decision = decision
        return item


def _thread_decision(
    thread: ThreadDecision, decision: Attach | Create, index: GroupingIndex
) -> Attach | Create:
    """Turn the grouping decision into what the thread says: support, or a linked new incident."""
    if thread.action is ThreadAction.SUPPORT and thread.incident_id is not None:
        evidence = replace(
            decision.evidence,
            rule=GroupingRule.COMMENT_OF_POST,
            incident_id=thread.incident_id,
            note=thread.reason,
        )
        return Attach(thread.incident_id, evidence, decision.fingerprints)
    # The same problem elsewhere: attach where grouping found the same place, else a new
    # incident; either way the link's evidence names the incident of the post.
    note = f"{thread.reason}; {decision.evidence.note}".rstrip("; ")
    evidence = replace(decision.evidence, note=note)
    if isinstance(decision, Create) and thread.incident_id is not None:
        # «У нас на ул. Щорса то же самое»: related to the post's incident (app/related.py).
        evidence = replace(
            evidence,
            related_incident_id=thread.incident_id,
            entity=evidence.entity or "thread",
            topic=evidence.topic or thread.topic or thread.topic_group,
        )
    return replace(decision, evidence=evidence)


#: A comment that would open its own incident needs at least this many content words
#: (or an address): fewer say something only together with the post they answer.
MIN_COMMENT_CONTENT_TERMS = 4


def _thin_comment(message: GroupingMessage, lemmas: Sequence[str]) -> bool:
    """Tell whether a comment is too thin to stand as an incident without its post."""
    if message.parent_key is None or message.address:
        return False
    return len(content_terms(lemmas)) < MIN_COMMENT_CONTENT_TERMS


class StoreStage:
    """Write the decision through the workflow: open an incident, or attach to one."""

    name = "store"

    def __init__(self, pipeline: Pipeline) -> None:
        """Write through ``pipeline``'s workflow and keep its index in step."""
        self.pipeline = pipeline

    def prepare(self, items: Sequence[Item]) -> None:
        """Nothing to share."""

    def process(self, item: Item) -> Item:
        """Create or attach, in the batch's transaction (its verdicts are stored at its end)."""
        decision, message, result = item.decision, item.grouping, item.classification
        if message is None or result is None or decision is None:
            raise Drop("undecided")
        if isinstance(decision, Create):
            self._create(item, message, result, decision)
            incident_id = item.incident.id if item.incident is not None else None
        elif isinstance(decision, Attach):
            self._attach(item, message, result, decision)
            incident_id = decision.incident_id
        else:
            incident_id = None
        item.stored = True
        if incident_id is not None:
            if item.notice is not None and self.pipeline.session is not None:
                self.pipeline.write_creates()  # the link's incident must be stored first
                NoticeRepository(self.pipeline.session).link(incident_id, item.notice.key)
                self.pipeline.counters["pipeline.notice.linked"] += 1
            self.pipeline.observe_surge(incident_id, item.message.posted_at, result)
        return item

    def _create(
        self, item: Item, message: GroupingMessage, result: Classification, decision: Create
    ) -> None:
        pipeline = self.pipeline
        urgency = tuple(m.phrase for m in urgency_markers(message.lemmas))
        priority = assess_priority(
            PrioritySignals(
                message_count=1,
                distinct_authors=1 if message.author_id else 0,
                views=message.reach.views,
                likes=message.reach.likes,
                comments=message.reach.comments,
                reposts=message.reach.reposts,
                urgency=urgency,
            ),
            pipeline.priority_config,
        )
        counters = IncidentCounters(
            message_count=1,
            author_count=1 if message.author_id else 0,
            reach=message.reach.views,
            priority=Priority(priority.level.value),
        )
        link = _link(item.message, decision, counters, pipeline.index.config.primary_version)
        title = " ".join(item.message.text.split())
        new = NewIncident(
            public_number=f"{pipeline.now():%Y}-M{item.message.id:07d}",
            title=title[:200],
            summary=item.message.text[:4000],
            topic_group=result.topic_group,
            topic=result.topic,
            municipality=result.municipality,
            municipality_oktmo=result.municipality_oktmo,
            priority=counters.priority,
        )
        record = pipeline.open_later(new, link)
        try:
            pipeline.index.apply(message, decision, incident_id=record.id)
        except Exception:
            pipeline.mark_index_stale()
            raise
        item.incident = record
        item.created = True
        pipeline.counters["pipeline.incident.created"] += 1
        related_id = decision.evidence.related_incident_id
        if related_id is not None:
            pipeline.relate_later(
                RelatedRequest(
                    child=record,
                    related_id=related_id,
                    shared=decision.evidence.entity_label or record.title[:60],
                    now=pipeline.now(),
                )
            )

    def _attach(
        self, item: Item, message: GroupingMessage, result: Classification, decision: Attach
    ) -> None:
        pipeline = self.pipeline
        # The index first (it sums authors and reach); if the database then refuses, the index
        # is rebuilt from the database before the next batch.
        try:
            pipeline.index.apply(message, decision)
            incident = pipeline.index.incident(decision.incident_id)
            counters = IncidentCounters(
                message_count=incident.message_count,
                author_count=len(incident.authors),
                reach=incident.reach.views,
                priority=Priority(incident.priority(pipeline.priority_config).level.value),
            )
            link = _link(item.message, decision, counters, pipeline.index.config.primary_version)
            pipeline.attach_later(incident.id, link)
            if decision.evidence.rule is GroupingRule.ENTITY:
                self._locate(incident.id, message, result)
        except Exception:
            pipeline.mark_index_stale()
            raise
        pipeline.counters["pipeline.incident.attached"] += 1

    def _locate(self, incident_id: int, message: GroupingMessage, result: Classification) -> None:
        """A located message about the entity of an incident of unknown town gives it its town."""
        pipeline = self.pipeline
        oktmo = message.municipality_oktmo
        session = pipeline.session
        if oktmo is None or session is None or not pipeline.index.locate(incident_id, oktmo):
            return
        pipeline.write_routes()  # the incident's triage event, if queued, comes first
        if GroupingRepository(session).set_municipality_if_unknown(
            incident_id, municipality=result.municipality, municipality_oktmo=oktmo
        ):
            EventRepository(session).append(
                incident_id=incident_id,
                actor_user_id=None,
                kind="locate",
                from_status=None,
                to_status=None,
                payload={
                    "municipality": result.municipality,
                    "municipality_oktmo": oktmo,
                    "message_key": message.key,
                },
                occurred_at=pipeline.now(),
            )
            pipeline.counters["pipeline.incident.located"] += 1


def _link(
    message: PendingMessage,
    decision: Create | Attach,
    counters: IncidentCounters,
    version: str,
) -> MessageLink:
    fingerprints = tuple(
        (fp.value, fp.version)
        for fp in decision.fingerprints
        if fp.kind is not FingerprintKind.BLOCK
    )
    return MessageLink(
        message_id=message.id,
        message_key=message.key,
        grouping_version=version,
        evidence=decision.evidence.to_dict(),
        fingerprints=fingerprints,
        counters=counters,
    )


def routing_subject(result: Classification, jurisdiction: Jurisdiction | None) -> RoutingSubject:
    """Return what routing reads, with the confidence of what the matching rule relies on.

    A rule naming only a topic group relies on the group's probability; a rule naming a single
    topic on the topic's (which is never above its group's). Without the jurisdiction at hand,
    the topic's confidence is used throughout (the cautious choice).
    """
    exact = RoutingSubject.from_classification(result)
    if jurisdiction is None or result.topic_group_confidence <= result.topic_confidence:
        return exact
    by_group = replace(exact, topic_confidence=result.topic_group_confidence)
    decision = jurisdiction.route(by_group)
    if decision.rule_index is None or jurisdiction.rules[decision.rule_index].topic != ANY:
        return exact
    return by_group


class RouteStage:
    """Route a new incident: automatically above the confidence threshold, else to triage."""

    name = "route"

    def __init__(self, pipeline: Pipeline) -> None:
        """Route through ``pipeline``'s workflow."""
        self.pipeline = pipeline

    def prepare(self, items: Sequence[Item]) -> None:
        """Nothing to share."""

    def process(self, item: Item) -> Item:
        """Route an incident this message opened (attached messages need nothing)."""
        if not item.created or item.incident is None or item.classification is None:
            return item
        pipeline, result = self.pipeline, item.classification
        if result.complaint_confidence < pipeline.min_complaint_confidence:
            pipeline.triage_later(
                item, f"low complaint confidence {result.complaint_confidence:.2f}"
            )
            pipeline.counters["pipeline.routed.triage"] += 1
            pipeline.counters["pipeline.low_confidence"] += 1
            return item
        # Workflow.route, with the triage (most new incidents) queued for the batch's bulk write.
        subject = routing_subject(result, pipeline.jurisdiction)
        decision = pipeline.workflow.plan_route(subject, SYSTEM)
        if decision.executor is not None:
            pipeline.assign_later(item, decision)
            return item
        if item.incident.status is not StoredStatus.TRIAGE:
            pipeline.triage_later(item, decision.reason)
        key = "pipeline.routed.auto" if decision.routed else "pipeline.routed.triage"
        pipeline.counters[key] += 1
        return item


# --------------------------------------------------------------------------- the runner


class _ItemFailed(Exception):
    """A writing stage failed for one item: the batch's transaction is rolled back."""

    def __init__(self, stage: str) -> None:
        """Name the stage that failed (the cause is the exception's ``__cause__``)."""
        super().__init__(stage)
        self.stage = stage


def _reset(item: Item) -> None:
    """Forget what grouping and storing decided for an item (the classification stays)."""
    item.grouping = None
    item.decision = None
    item.incident = None
    item.created = False
    item.stored = False


@dataclass(frozen=True, slots=True)
class _Assign:
    """A new incident queued for its executor."""

    item: Item
    decision: RouteDecision


@dataclass(frozen=True, slots=True)
class _Triage:
    """A new incident queued for the triage queue."""

    item: Item
    reason: str


@dataclass(frozen=True, slots=True)
class _Related:
    """A new incident queued to be linked under a parent with the one it is related to."""

    request: RelatedRequest


_Route = _Assign | _Triage | _Related


def _touched(op: _Route, parent_of: Callable[[int], int | None]) -> set[int]:
    """The incidents an operation reads or writes (a related link: also the related's parent)."""
    if isinstance(op, _Related):
        request = op.request
        touched = {request.child.id, request.related_id}
        parent = parent_of(request.related_id)
        if parent is not None:
            touched.add(parent)
        return touched
    return {op.item.incident.id} if op.item.incident is not None else set()


def _rounds(queued: Sequence[_Route], parent_of: Callable[[int], int | None]) -> list[list[_Route]]:
    """Split queued operations into rounds written one after the other, each in bulk.

    An operation goes into the round after the last one holding an operation on any of its
    incidents: each incident's operations stay in the order queued, and the operations of one
    round concern distinct incidents (so a round may be written one statement a kind, read
    once before it is written).
    """
    last: dict[int, int] = {}
    rounds: list[list[_Route]] = []
    for op in queued:
        touched = _touched(op, parent_of)
        k = 1 + max((last.get(i, -1) for i in touched), default=-1)
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(op)
        for i in touched:
            last[i] = k
    return rounds


class Pipeline:
    """Runs stored, unprocessed messages through the stages; owns the grouping index.

    One pipeline per process runs at a time (the scheduler's ``max_instances=1``); its index is
    a cache of the database, rebuilt at the first run and after any failed write.
    """

    def __init__(
        self,
        *,
        sessionmaker: sessionmaker[Session],
        workflow: Workflow,
        classifier: TextClassifier,
        lemmatizer: LemmatizerLike,
        clock: Clock,
        grouping: GroupingConfig | None = None,
        priority: PriorityConfig | None = None,
        jurisdiction: Jurisdiction | None = None,
        surge: SurgeConfig | None = None,
        stages: Sequence[str] = DEFAULT_STAGES,
        max_age: timedelta | None = timedelta(days=3),
        min_complaint_confidence: float = 0.6,
        batch_size: int = 200,
        zone: tzinfo = UTC,
    ) -> None:
        """Wire the stages named in ``stages`` (in that order) over the injected collaborators."""
        self.sessions = sessionmaker
        self.workflow = workflow
        self.classifier = classifier
        self.lemmatizer = lemmatizer
        self.clock = clock
        self.grouping_config = grouping or GroupingConfig()
        self.priority_config = priority or PriorityConfig()
        self.jurisdiction = jurisdiction
        self.min_complaint_confidence = min_complaint_confidence
        self.max_age = max_age
        self.batch_size = max(1, batch_size)
        self.counters: Counter[str] = Counter()
        self.zone = zone  # the region's: notices give local dates and hours
        self.notices: dict[str, OutageNotice] = {}
        self.last_rebuild: RebuildReport | None = None
        self._index: GroupingIndex | None = None
        self._marker = 0
        self.surges = SurgeDetector(surge)
        #: The session of the batch being written (one transaction), None between batches.
        self.session: Session | None = None
        self._surges_before: SurgeDetector | None = None
        self._stale_after_batch = False
        #: Where the next run's scan for pending messages starts (see run_once).
        self._resume_after = 0
        #: Attaches decided in the batch being written, not yet written (see attach_later).
        self._attaches: list[tuple[int, MessageLink]] = []
        #: The routing of the batch's new incidents and their related links, in the order
        #: decided, not yet written (see triage_later, assign_later, relate_later).
        self._routes: list[_Route] = []
        #: New incidents of the batch being written, not yet inserted (see open_later), and
        #: the incident ids reserved for the next ones.
        self._creates: list[tuple[IncidentRecord, NewIncident, MessageLink]] = []
        self._reserved: list[int] = []
        #: Failed attempts per message id (this process): a message failing alone this many
        #: times is skipped with its verdict stored, so that it cannot hold the queue up.
        self.failures: Counter[int] = Counter()
        self.poison_after = POISON_AFTER
        factories: dict[str, Callable[[], Stage]] = {
            "classify": lambda: ClassifyStage(classifier, lemmatizer),
            "complaint": lambda: ComplaintStage(self),
            "fresh": lambda: FreshStage(self.now, max_age),
            "group": lambda: GroupStage(self),
            "store": lambda: StoreStage(self),
            "route": lambda: RouteStage(self),
        }
        unknown = [name for name in stages if name not in factories]
        if unknown:
            raise ValueError(f"unknown pipeline stage(s): {', '.join(unknown)}")
        if len(set(stages)) != len(stages):
            raise ValueError("a pipeline stage is listed twice")
        if "classify" not in stages or stages[0] != "classify":
            raise ValueError("the pipeline must start with the classify stage")
        for later, earlier in (("store", "group"), ("route", "store")):
            if later in stages and (
                earlier not in stages or stages.index(earlier) > stages.index(later)
            ):
                raise ValueError(f"stage {later!r} needs {earlier!r} before it")
        self.stages: tuple[Stage, ...] = tuple(factories[name]() for name in stages)

    # ------------------------------------------------------------------ plumbing

    def now(self) -> datetime:
        """Return the injected clock's time (aware UTC)."""
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the pipeline's clock must return aware datetimes")
        return now.astimezone(UTC)

    @property
    def index(self) -> GroupingIndex:
        """Return the grouping index, rebuilding it from the database when needed."""
        if self._index is None:
            self.rebuild_index()
        assert self._index is not None  # noqa: S101 - set by rebuild_index
        return self._index

    def mark_index_stale(self) -> None:
        """Forget the index: the next use rebuilds it from the database."""
        self._index = None
        self.counters["pipeline.index.stale"] += 1

    # ------------------------------------------------------------------ bulk writes

    def open_later(self, new: NewIncident, link: MessageLink) -> IncidentRecord:
        """Return a new incident opened by its first message, inserted with the batch's others.

        Grouping needs the id at once, so it is reserved (``IncidentRepository.reserve_ids``,
        a few at a time); the incident, its link, fingerprints and events are written by
        :meth:`write_creates` (``Workflow.open_incidents_with_messages``: a few statements for
        all of them) before anything reads or extends it. Outside a batch it is written now.
        """
        session = self.session
        if session is None:
            return self.workflow.open_incident_with_message(new, link)
        if not self._reserved:
            # After the ids queued and not inserted yet (SQLite counts from the largest stored).
            queued = max((record.id for record, _new, _link in self._creates), default=0)
            self._reserved = IncidentRepository(session).reserve_ids(RESERVE_IDS, after=queued)
        record = self.workflow.planned_incident(self._reserved.pop(0), new)
        self._creates.append((record, new, link))
        return record

    def write_creates(self) -> None:
        """Insert the batch's new incidents queued so far (see :meth:`open_later`).

        On SQLite the ids still reserved are given up: they are free only until another
        incident is inserted (a surge's or related parent, opened right after this). On
        PostgreSQL they are kept for the batch's next new incidents (the batch's end gives
        them up: a gap in the ids).
        """
        if self.session is None:
            return
        if self._reserved and not IncidentRepository(self.session).reserved_ids_stay_free():
            self._reserved = []
        if not self._creates:
            return
        queued, self._creates = self._creates, []
        try:
            self.workflow.open_incidents_with_messages(queued, session=self.session)
        except Exception as err:
            if database_unreachable(err) is not None:
                raise
            raise _ItemFailed("store") from err

    def assign_later(self, item: Item, decision: RouteDecision) -> None:
        """Queue a new incident's assignment for the batch's bulk write (done now outside one).

        Written by :meth:`write_routes` after the incidents are inserted (a missing calendar
        year sends the incident to triage instead).
        """
        if self.session is None:
            reason = self._assign(item, decision)
            if reason is not None:
                self.triage_later(item, reason)
            return
        self._routes.append(_Assign(item, decision))

    def _assign(self, item: Item, decision: RouteDecision) -> str | None:
        """Assign a new incident to its executor; the reason to triage it instead, if any."""
        assert item.incident is not None  # noqa: S101 - the route stage's new incident
        assert decision.executor is not None  # noqa: S101 - queued for an executor
        try:
            item.incident = self.workflow.assign(
                item.incident,
                decision.executor,
                SYSTEM,
                rule_id=decision.rule_id,
                reason=decision.reason,
                session=self.session,
            )
        except CalendarError as err:
            # No deadline can be computed (the calendar lacks a year): the incident waits
            # in triage with the reason, instead of failing its message for good.
            log.error(
                "incident %s: not assigned to %s, no deadline: %s",
                item.incident.public_number,
                decision.executor,
                err,
            )
            self.counters["pipeline.routed.triage"] += 1
            if item.incident.status is StoredStatus.TRIAGE:
                return None
            return f"срок не вычислен ({decision.executor}): {err}"
        key = "pipeline.routed.auto" if decision.routed else "pipeline.routed.triage"
        self.counters[key] += 1
        return None

    def attach_later(self, incident_id: int, link: MessageLink) -> None:
        """Queue an attach for the batch's bulk write (written now outside a batch).

        Inside a batch, attaches are written together (``Workflow.attach_messages``: a few
        statements for all of them) before the verdicts, before any surge's writes (which read
        and extend the same incidents' history) and so always in the batch's transaction.
        Other writes between (a new incident, its routing) concern other incidents, so each
        incident's events keep their order.
        """
        if self.session is None:
            self.workflow.attach_message(incident_id, link)
            return
        self._attaches.append((incident_id, link))

    def triage_later(self, item: Item, reason: str) -> None:
        """Queue a new incident for the batch's bulk triage (done now outside a batch).

        Written by :meth:`write_routes` (``Workflow.triage_many``: one update and one event
        insert for many) before anything reads or extends these incidents again: the queued
        attaches, a surge, a locate event.
        """
        assert item.incident is not None  # noqa: S101 - the route stage's new incident
        if self.session is None:
            item.incident = self.workflow.triage(item.incident, actor=SYSTEM, reason=reason)
            return
        self._routes.append(_Triage(item, reason))

    def relate_later(self, request: RelatedRequest) -> None:
        """Queue a new incident's link with the incident it is related to (app/related.py).

        Written by :meth:`write_routes` with the batch's other related links (a transaction of
        its own outside a batch).
        """
        if self.session is None:
            with self.sessions.begin() as session:
                self._write_related([request], session)
            return
        self._routes.append(_Related(request))

    def write_routes(self) -> None:
        """Write the queued routing and related links of the batch (see :meth:`triage_later`).

        The queued new incidents go first (:meth:`write_creates`). Then the queue is written
        in rounds (:func:`_rounds`): each round one statement a kind for all it holds (the
        triages, the related links), an assignment one by one, so that each incident's
        events keep the order they were decided in (a related incident's triage before its
        ``set_parent``, a new incident's ``set_parent`` before its triage), while a round
        holds every operation that concerns other incidents than the rounds before it left.
        """
        self.write_creates()
        session = self.session
        if not self._routes or session is None:
            return
        queued, self._routes = self._routes, []
        for round_ in _rounds(queued, self._parent_in_index):
            triages = [(op.item, op.reason) for op in round_ if isinstance(op, _Triage)]
            for op in round_:
                if isinstance(op, _Assign):
                    try:
                        reason = self._assign(op.item, op.decision)
                    except Exception as err:
                        if database_unreachable(err) is not None:
                            raise
                        raise _ItemFailed("route") from err
                    if reason is not None:
                        triages.append((op.item, reason))
            self._write_triages(triages, session)
            related = [op.request for op in round_ if isinstance(op, _Related)]
            if related:
                try:
                    self._write_related(related, session)
                except Exception as err:
                    if database_unreachable(err) is not None:
                        raise
                    raise _ItemFailed("store") from err

    def _parent_in_index(self, incident_id: int) -> int | None:
        """Return the incident's parent as the index knows it (None: none, or not indexed)."""
        try:
            return self.index.incident(incident_id).parent_incident_id
        except GroupingError:  # not in the index: no parent known
            return None

    def _write_triages(self, queued: Sequence[tuple[Item, str]], session: Session) -> None:
        if not queued:
            return
        try:
            saved = self.workflow.triage_many(
                [(item.incident, reason) for item, reason in queued if item.incident is not None],
                SYSTEM,
                session=session,
            )
        except Exception as err:
            if database_unreachable(err) is not None:
                raise
            raise _ItemFailed("route") from err
        for (item, _reason), record in zip(queued, saved, strict=True):
            item.incident = record

    def _write_related(self, requests: Sequence[RelatedRequest], session: Session) -> None:
        outcomes = link_related_many(
            workflow=self.workflow, index=self.index, session=session, requests=requests
        )
        for request, outcome in zip(requests, outcomes, strict=True):
            if isinstance(outcome, RelatedSkipped):  # the related incident ended meanwhile
                log.info(
                    "related: incident %d not linked to %d: %s",
                    request.child.id,
                    request.related_id,
                    outcome.reason,
                )
                self.counters["pipeline.related.skipped"] += 1
            elif isinstance(outcome, RelatedLink):
                self.counters["pipeline.related.linked"] += 1

    def write_attaches(self) -> None:
        """Write the attaches queued in the batch's transaction (see :meth:`attach_later`).

        The queued routes go first: each incident's events keep the order they were decided.
        """
        self.write_routes()
        if not self._attaches or self.session is None:
            return
        links, self._attaches = self._attaches, []
        self.workflow.attach_messages(links, session=self.session)

    # ------------------------------------------------------------------ threads

    def read_thread(self, item: Item) -> ThreadDecision:
        """Decide what a message means in its thread (router/thread.py) from the index."""
        message, result = item.message, item.classification
        assert result is not None  # noqa: S101 - classified before the complaint stage
        parent: ParentIncident | None = None
        if message.parent_key is not None:
            incident_id = self.index.incident_of(message.parent_key)
            if incident_id is not None:
                record = self.index.incident(incident_id)
                if record.status is IncidentStatus.OPEN:
                    parent = ParentIncident(
                        id=record.id,
                        topic_group=record.topic_group,
                        topic=record.topic,
                        municipality_oktmo=record.municipality_oktmo,
                        addresses=record.addresses,
                    )
        decision = decide_thread(
            ThreadMessage(
                classification=result,
                lemmas=item.lemmas,
                is_comment=message.parent_key is not None,
                address=extract_address(message.text),
                replies_to_commenter=addresses_commenter(message.text),
                parent_incident=parent,
            )
        )
        self.counters[f"pipeline.thread.{decision.action.value}"] += 1
        return decision

    # ------------------------------------------------------------------ notices

    def remember_notice(self, item: Item) -> None:
        """Keep a planned outage or closure a non-complaint announces (router/notices.py)."""
        message = item.message
        notice = parse_notice(
            key=message.key,
            text=message.text,
            lemmas=item.lemmas,
            posted_at=message.posted_at,
            zone=self.zone,
        )
        if notice is not None:
            self.notices[notice.key] = notice
            if self.session is not None:  # kept for a restarted daemon and the incident page
                NoticeRepository(self.session).save(notice)
            self.counters["pipeline.notice.seen"] += 1

    def explain_notice(self, item: Item) -> OutageNotice | None:
        """Return the remembered notice a complaint falls under (its group, street, window)."""
        if not self.notices or item.grouping is None:
            return None
        now = self.now()
        for key in [k for k, n in self.notices.items() if n.ends_at + OVERRUN < now]:
            del self.notices[key]
        notice = explain(
            self.notices.values(),
            topic_group=item.grouping.topic_group,
            text=item.message.text,
            posted_at=item.message.posted_at,
        )
        if notice is not None:
            self.counters["pipeline.notice.explained"] += 1
        return notice

    # ------------------------------------------------------------------ surges

    def observe_surge(self, incident_id: int, at: datetime, result: Classification) -> None:
        """Count a stored message for surge detection; open or grow the surge's parent incident.

        A failure here is logged and counted (``pipeline.error.surge``): the message itself is
        stored all the same (inside a batch, the surge's writes are undone by a savepoint and the
        index is rebuilt once the batch is committed).
        """
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        if at < self.now() - self.surges.config.window:
            # A backlog (a first sync, a catch-up after downtime) arrives out of time order and
            # describes events that are over: counting it would start surges, and parents, of
            # the past, several per topic and place. Surges are about what happens now.
            self.counters["pipeline.surge.skipped_old"] += 1
            return
        if self.session is not None and self._surges_before is None:
            # The detector's state before the batch, put back if the batch is rolled back.
            self._surges_before = copy.deepcopy(self.surges)
        try:
            update = self.surges.observe(
                SurgeEvent(
                    at=at,
                    incident_id=incident_id,
                    topic_group=result.topic_group,
                    municipality_oktmo=result.municipality_oktmo,
                )
            )
        except Exception as err:
            self._surge_failed(incident_id, err)
            return
        if update is None:
            return
        # The surge reads and extends these incidents. Outside the surge's try: a failed
        # queued write fails the batch (it must not be taken for the surge's and skipped).
        self.write_attaches()
        try:
            if self.session is None:
                self._apply_surge(update, result.municipality)
            else:
                with self.session.begin_nested():
                    self._apply_surge(update, result.municipality)
        except Exception as err:
            self._surge_failed(incident_id, err)

    def _surge_failed(self, incident_id: int, err: Exception) -> None:
        """Log and count a failed surge step (an outage is re-raised for the job to report)."""
        if database_unreachable(err) is not None:
            raise err
        log.error("pipeline: surge handling for incident %d failed", incident_id, exc_info=err)
        self.counters["pipeline.error.surge"] += 1
        if self.session is None:
            self.mark_index_stale()
        else:
            self._stale_after_batch = True  # not now: the batch's writes are not committed

    def _apply_surge(self, update: SurgeUpdate, municipality: str | None) -> None:
        surge = update.surge
        key = surge.key
        parent_id = surge.parent_incident_id
        if parent_id is None:
            now = self.now()
            place = municipality or key.municipality_oktmo
            parent = self.workflow.open_incident(
                NewIncident(
                    public_number=f"{now:%Y%m%d%H%M%S}-P{max(surge.incident_ids):07d}",
                    title=f"Массовые обращения: {key.topic_group}, {place}",
                    summary=surge.explanation,
                    topic_group=key.topic_group,
                    municipality=municipality,
                    municipality_oktmo=key.municipality_oktmo,
                ),
                SYSTEM,
                session=self.session,
            )
            parent_id = parent.id
            self.surges.set_parent(key, parent_id)
            self.index.add_incident(
                IncidentHeader(
                    id=parent.id,
                    topic_group=key.topic_group,
                    topic=None,
                    municipality_oktmo=key.municipality_oktmo,
                    opened_at=parent.created_at,
                )
            )
            self.workflow.route(
                parent,
                RoutingSubject(key.topic_group, None, key.municipality_oktmo),
                SYSTEM,
                session=self.session,
            )
            self.counters["pipeline.surge.started"] += 1
            log.info("surge: %s; parent incident %s", surge.explanation, parent.public_number)
        children = []
        for child_id in update.new_children:
            if child_id == parent_id:
                continue
            try:
                child = self.workflow.get(child_id, SYSTEM, session=self.session)
                self.workflow.set_parent(child, parent_id, SYSTEM, session=self.session)
            except WorkflowError as err:  # e.g. rejected meanwhile: it stays on its own
                log.info("surge: incident %d not made a child: %s", child_id, err)
                continue
            children.append(child_id)
            self.counters["pipeline.surge.child"] += 1
        self.index.set_parent(children, parent_id)

    def snapshot(self) -> Mapping[str, int]:
        """Return the counters (for the status page)."""
        return MappingProxyType(dict(self.counters))

    # ------------------------------------------------------------------ the index

    def rebuild_index(self) -> RebuildReport:
        """Rebuild the grouping index from open incidents, their messages and the tombstones."""
        started = time.perf_counter()
        with self.sessions() as session:
            repo = GroupingRepository(session)
            marker = repo.change_marker()
            incidents = repo.open_incidents()
            ids = [i.id for i in incidents]
            linked = repo.linked_messages(ids)
            stored = repo.fingerprints(ids)
            tombstones = repo.tombstones()
            # The notices still in force, as a restarted daemon must know them.
            notices = NoticeRepository(session).in_force(self.now() - OVERRUN)
        self.notices.update((n.key, n) for n in notices)
        by_id = {i.id: i for i in incidents}
        index = GroupingIndex(self.grouping_config)
        headers = [
            IncidentHeader(
                id=i.id,
                topic_group=i.topic_group,
                topic=i.topic,
                municipality_oktmo=i.municipality_oktmo,
                opened_at=i.created_at,
                status=IncidentStatus.MERGED
                if i.status is StoredStatus.MERGED
                else IncidentStatus.OPEN,
                parent_incident_id=i.parent_incident_id,
                merged_into_id=i.merged_into_id,
            )
            for i in incidents
        ]
        lemmatize = self.lemmatizer.lemmatize_text
        messages = []
        for m in linked:
            header = by_id[m.incident_id]
            messages.append(
                (
                    m.incident_id,
                    GroupingMessage(
                        key=f"{m.network.value}:{m.external_id}",
                        network=m.network.value,
                        text=m.text,
                        lemmas=tuple(lemmatize(m.text)),
                        topic_group=header.topic_group,
                        topic=header.topic,
                        municipality_oktmo=header.municipality_oktmo,
                        posted_at=m.posted_at,
                        parent_key=(
                            f"{m.network.value}:{m.parent_external_id}"
                            if m.parent_external_id
                            else None
                        ),
                        author_id=m.author_id,
                        reach=Reach(m.views, m.likes, m.comments, m.reposts),
                        address=extract_address(m.text),
                    ),
                )
            )
        index.load(
            headers,
            messages,
            (Tombstone(t.fingerprint, t.incident_id, t.reason, t.created_at) for t in tombstones),
        )
        # Fingerprints of versions no longer computed keep collecting duplicates (rule 11).
        versions = set(self.grouping_config.versions)
        for fp in stored:
            if fp.grouping_version not in versions:
                index.add_fingerprint(fp.fingerprint, fp.incident_id)
        self._index = index
        self._marker = marker
        report = RebuildReport(
            incidents=len(headers),
            messages=len(messages),
            tombstones=len(tombstones),
            seconds=time.perf_counter() - started,
        )
        self.last_rebuild = report
        self.counters["pipeline.index.rebuilt"] += 1
        log.info(
            "grouping index rebuilt: %d incidents, %d messages, %d tombstones in %.2f s",
            report.incidents,
            report.messages,
            report.tombstones,
            report.seconds,
        )
        return report

    # ------------------------------------------------------------------ running

    def _store_verdicts(self, items: Sequence[Item], session: Session) -> None:
        """Store the batch's verdicts in its transaction: one read, one multi-row insert.

        Once committed, with the grouping effects beside them, a message counts as processed
        and is never read again.
        """
        ClassificationRepository(session).add_many(
            [(i.message.id, i.classification) for i in items if i.classification is not None],
            now=self.now(),
        )

    def _refresh_index(self) -> None:
        """Rebuild the index if absent, or if incidents were closed, merged or reopened since."""
        if self._index is not None:
            with self.sessions() as session:
                if GroupingRepository(session).change_marker() == self._marker:
                    return
        self.rebuild_index()

    def _expire_postings(self) -> None:
        """Forget the index's lemma postings of days no message it will group can reach.

        The fresh stage lets through only messages posted within ``max_age``, and a message is
        compared with the postings of its grouping window: older days are dead weight in a
        daemon that runs for weeks. Incidents and their messages stay (a late comment still
        joins its post's incident); without the fresh stage nothing is forgotten.
        """
        if self.max_age is None or not any(s.name == "fresh" for s in self.stages):
            return
        horizon = self.now() - self.max_age - self.grouping_config.window
        dropped = self.index.expire(horizon)
        if dropped:
            self.counters["pipeline.index.expired_blocks"] += dropped

    def _route_leftovers(self) -> None:
        """Send to triage incidents a crash left in ``new`` after their first message was stored."""
        with self.sessions() as session:
            waiting = IncidentRepository(session).by_status([StoredStatus.NEW])
            linked = GroupingRepository(session).linked_incident_ids([i.id for i in waiting])
        for incident in waiting:
            if incident.id not in linked:
                continue  # opened by an operator, not by the pipeline
            try:
                self.workflow.triage(
                    incident, actor=SYSTEM, reason="routing was interrupted; please route"
                )
                self.counters["pipeline.routed.triage"] += 1
                self.counters["pipeline.recovered"] += 1
            except Exception as err:
                if database_unreachable(err) is not None:
                    raise
                log.exception("incident %s: could not send to triage", incident.public_number)
                self.counters["pipeline.error.route"] += 1

    def run_batch(self, batch: Sequence[PendingMessage]) -> bool:
        """Run one batch of messages through the stages; False if the batch could not start.

        The whole batch is classified at once (each stage's ``prepare``), then decided and
        written in ONE transaction (:meth:`_write`): a failure rolls all of it back and the
        batch is split to isolate the message at fault.
        """
        items = [Item(message) for message in batch]
        try:
            for stage in self.stages:
                stage.prepare(items)
        except Exception as err:
            if database_unreachable(err) is not None:
                raise  # an outage, not a fault of these messages: the outage watcher reports it
            log.exception("pipeline: preparing a batch of %d messages failed", len(items))
            self.counters[f"pipeline.error.{stage.name}"] += len(items)
            return False
        self.counters["pipeline.classified"] += sum(1 for i in items if i.classification)
        self.counters["pipeline.complaint"] += sum(
            1 for i in items if i.classification is not None and i.classification.is_complaint
        )
        self._write(items)
        return True

    def _write(self, items: list[Item]) -> None:
        """Decide and write ``items`` in one transaction; on failure split them and try again.

        The in-memory state a failed attempt changed (the grouping index, the surge detector,
        the counters) is put back as it was: the index rebuilt from the database, the detector
        and the counters from copies. A message that fails alone is counted as an error and
        left unprocessed for the next run (see :meth:`_failed_alone`).
        """
        counters = Counter(self.counters)
        self._surges_before = None
        self._stale_after_batch = False
        for item in items:
            _reset(item)
        try:
            finished = self._attempt(items)
        except _ItemFailed as failed:
            self._undo(counters)
            if len(items) == 1:
                self._failed_alone(items[0], failed.stage, failed.__cause__)
                return
            self.counters["pipeline.batch.split"] += 1
            half = len(items) // 2
            self._write(items[:half])
            self._write(items[half:])
            return
        except Exception as err:
            self._undo(counters)
            if database_unreachable(err) is not None:
                raise  # not the batch's fault: the job reports the outage once
            if len(items) == 1:
                self._failed_alone(items[0], "store", err)
                return
            log.warning("pipeline: a batch of %d messages failed to commit; splitting", len(items))
            self.counters["pipeline.batch.split"] += 1
            half = len(items) // 2
            self._write(items[:half])
            self._write(items[half:])
            return
        for item in finished:
            item.stored = True
            self.failures.pop(item.message.id, None)
        if self._stale_after_batch:
            self.mark_index_stale()
        self.counters["pipeline.batch.committed"] += 1

    def _attempt(self, items: Sequence[Item]) -> list[Item]:
        """Run the items through the stages and store their verdicts: one transaction."""
        try:
            with self.sessions.begin() as session:
                self.session = session
                self._clear_queues()
                finished = self._process_items(items)
                self.write_attaches()
                self._store_verdicts(finished, session)
        finally:
            self.session = None
            self._clear_queues()
        return finished

    def _clear_queues(self) -> None:
        self._creates, self._attaches, self._routes = [], [], []
        self._reserved = []

    def _process_items(self, items: Sequence[Item]) -> list[Item]:
        """Run each item through the stages (inside the batch's transaction); return finished.

        A Drop finishes the item (its verdict is stored); a failure before the writing stages
        is counted and, in ``group``, leaves the message for the next run; a failure in a
        writing stage raises :class:`_ItemFailed`, which rolls the whole batch back.
        """
        finished: list[Item] = []
        for item in items:
            current = self.stages[0]
            try:
                for stage in self.stages:
                    current = stage
                    item = stage.process(item)
            except Drop as drop:
                self.counters[f"pipeline.drop.{drop.reason}"] += 1
            except _ItemFailed:
                raise  # a queued write of an earlier item failed: the batch is rolled back
            except Exception as err:
                if database_unreachable(err) is not None:
                    raise
                if current.name in WRITING_STAGES:
                    raise _ItemFailed(current.name) from err
                log.exception(
                    "pipeline: message %s failed in stage %s", item.message.key, current.name
                )
                self.counters[f"pipeline.error.{current.name}"] += 1
                if current.name == "group":
                    continue  # not marked processed: retried on the next run
            finished.append(item)
        return finished

    def _undo(self, counters: Counter[str]) -> None:
        """Put back what a rolled-back batch changed in memory."""
        self.counters.clear()
        self.counters.update(counters)
        if self._surges_before is not None:
            self.surges = self._surges_before
            self._surges_before = None
        self.mark_index_stale()

    def _failed_alone(self, item: Item, stage: str, err: BaseException | None) -> None:
        """Count a message whose own writes failed; skip it for good once it failed too often."""
        self.failures[item.message.id] += 1
        attempts = self.failures[item.message.id]
        log.error(
            "pipeline: message %s failed in stage %s (attempt %d): %s",
            item.message.key,
            stage,
            attempts,
            err,
            exc_info=err,
        )
        self.counters[f"pipeline.error.{stage}"] += 1
        if attempts < self.poison_after or item.classification is None:
            return  # not marked processed: retried on the next run
        # A poisoned message: its verdict is stored without an incident, so that the queue
        # moves on; the log line above and the counter name it for an operator.
        try:
            with self.sessions.begin() as session:
                ClassificationRepository(session).add(
                    item.message.id, item.classification, now=self.now()
                )
        except Exception as store_err:
            if database_unreachable(store_err) is not None:
                raise
            log.exception("pipeline: could not set message %s aside", item.message.key)
            return
        self.failures.pop(item.message.id, None)
        item.stored = True
        self.counters["pipeline.error.poisoned"] += 1
        log.error(
            "pipeline: message %s skipped after %d failed attempts (stored without an incident)",
            item.message.key,
            attempts,
        )

    def run_once(self, limit: int | None = None) -> RunReport:
        """Process stored messages without a verdict of the current model (at most ``limit``)."""
        started = time.perf_counter()
        before = Counter(self.counters)
        self._refresh_index()
        self._expire_postings()
        self._route_leftovers()
        version = self.classifier.version
        done = 0
        after_id = self._resume_after
        self._resume_after = 0
        finished = True
        while limit is None or done < limit:
            size = self.batch_size if limit is None else min(self.batch_size, limit - done)
            with self.sessions() as session:
                batch = ClassificationRepository(session).pending(
                    version, limit=size, after_id=after_id
                )
            if not batch:
                break
            if not self.run_batch(batch):
                break  # the model (or the database) is failing: the next run tries again
            done += len(batch)
            after_id = batch[-1].id
        else:
            finished = False  # stopped at the limit: more may wait after ``after_id``
        delta = self.counters - before
        if not finished and not any(k.startswith("pipeline.error.") for k in delta):
            # The next run (the daemon's next chunk) goes on from here instead of reading the
            # backlog from its start again: with 50 messages a chunk, scanning every message
            # already done made a 100 000-message backlog quadratic. Any run that reaches the
            # end, or leaves a message behind, makes the next one start from the first id
            # again, which also finds a message committed late under a lower id.
            self._resume_after = after_id
        return RunReport(
            classified=delta["pipeline.classified"],
            complaints=delta["pipeline.complaint"],
            created=delta["pipeline.incident.created"],
            attached=delta["pipeline.incident.attached"],
            routed_auto=delta["pipeline.routed.auto"],
            triage=delta["pipeline.routed.triage"],
            dropped={
                k.removeprefix("pipeline.drop."): v
                for k, v in delta.items()
                if k.startswith("pipeline.drop.")
            },
            errors={
                k.removeprefix("pipeline.error."): v
                for k, v in delta.items()
                if k.startswith("pipeline.error.")
            },
            seconds=time.perf_counter() - started,
        )
