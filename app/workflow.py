"""The incident workflow: every state change, driven by one transition table, logged atomically."""

# Each ``Workflow`` method opens one transaction, re-reads the incident, checks the version the
# caller saw (optimistic locking), the transition table and the permission table, applies the
# change (incident state, assignments and their SLA clocks, answers) and appends one event, so
# that either all of it is stored or none of it. See docs/workflow.md and docs/sla.md.
#
# The methods the pipeline calls (open, attach, route, triage, assign, set_parent, get) also take
# ``session=``: the caller's session, inside a transaction the caller began and will commit or
# roll back. The same checks and the same event rows are written in it, so a batch of messages is
# one transaction and still every state change goes through here with its event.

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.permissions import Actor, Permission, Role, can, can_act_on
from app.routing import Routing
from router.calendar import CalendarError
from router.escalation import EscalationPlan, Watched, plan_escalations
from router.jurisdiction import RouteDecision, RoutingSubject
from router.priority import PriorityConfig, PrioritySignals, assess_priority, urgency_markers
from router.sla import (
    ClockStatus,
    SlaClock,
    at_risk_of,
    pause,
    recompute,
    remaining,
    restart,
    resume,
    start_clock,
    status,
    stop,
    switch_to_interim,
)
from storage.enums import (
    AnswerKind,
    AnswerStatus,
    AssignmentStatus,
    IncidentStatus,
    LabelField,
    Priority,
    Resolution,
)
from storage.repositories import (
    AnswerRepository,
    AssignmentRecord,
    AssignmentRepository,
    ConcurrentUpdate,
    EventRecord,
    EventRepository,
    ExecutorRepository,
    IncidentRecord,
    IncidentRepository,
    NewIncident,
    NotFound,
    clock_to_json,
)
from storage.repositories.events import ESCALATION_EVENT, NewEvent
from storage.repositories.grouping import GroupingRepository, IncidentCounters, NewLink
from storage.repositories.incidents import OpenedIncident, new_record
from storage.repositories.labels import LabelRepository

log = logging.getLogger(__name__)

__all__ = [
    "ATTACH_EVENT",
    "FOLLOWUP_LINK_VERSION",
    "PARENT_EVENT",
    "RECLASSIFY_EVENT",
    "SPLITTABLE",
    "SPLITTERS",
    "SPLIT_EVENT",
    "SYSTEM",
    "TRANSITIONS",
    "Action",
    "AssignmentClock",
    "BulkAnswer",
    "ClockReport",
    "ConcurrentUpdate",
    "InvalidRequest",
    "MessageLink",
    "PermissionDenied",
    "ReturnKind",
    "Transition",
    "TransitionNotAllowed",
    "Workflow",
    "WorkflowError",
    "allowed_actions",
    "find_transition",
    "parent_refusal",
    "transition_table_markdown",
]

S = IncidentStatus

#: States an incident does not leave except by reopening: not listed among open incidents.
_ENDED = frozenset({S.CLOSED, S.REJECTED, S.MERGED})

#: The daemon and the pipeline acting on their own.
SYSTEM = Actor(Role.SYSTEM)

#: The event kind written when a message is attached to an incident.
ATTACH_EVENT = "attach"

#: The grouping version of a link made by a follow-up (the comment that reopened or closed).
FOLLOWUP_LINK_VERSION = "followup"


@dataclass(frozen=True, slots=True)
class MessageLink:
    """A message joining an incident, as grouping decided it: evidence, fingerprints, counters.

    ``fingerprints`` are ``(value, grouping version)`` lookup pairs; ``counters`` are the
    incident's aggregates once the message is in.
    """

    message_id: int
    message_key: str
    grouping_version: str
    evidence: Mapping[str, Any]
    fingerprints: tuple[tuple[str, str], ...]
    counters: IncidentCounters


class WorkflowError(Exception):
    """A workflow request was refused; nothing was changed."""


class TransitionNotAllowed(WorkflowError):
    """The action is not possible from the incident's current state."""


class PermissionDenied(WorkflowError):
    """The actor may not take this action on this incident."""


class InvalidRequest(WorkflowError):
    """The request lacks something it needs (a reason, an answer text, a valid target)."""


class Action(enum.StrEnum):
    """What can be done to an incident; each is a ``Workflow`` method."""

    TRIAGE = "triage"
    ASSIGN = "assign"
    ACCEPT = "accept"
    ANSWER_INTERIM = "answer_interim"
    ANSWER_FINAL = "answer_final"
    APPROVE = "approve"
    SEND_FOR_REWORK = "send_for_rework"
    PUBLISH = "publish"
    CLOSE = "close"
    RETURN = "return"
    REJECT = "reject"
    MERGE = "merge"
    REOPEN = "reopen"


class ReturnKind(enum.StrEnum):
    """Why an executor returns an incident: not its business, or it needs clarification."""

    NOT_OURS = "not_ours"
    CLARIFICATION = "clarification"


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the transition table: from a state, an action, to a state, by these roles."""

    source: IncidentStatus
    action: Action
    target: IncidentStatus
    roles: frozenset[Role]


_OPS = frozenset({Role.OPERATOR, Role.SUPERVISOR})
_AUTO = _OPS | {Role.SYSTEM}
_EXE = frozenset({Role.EXECUTOR})


def _rows(
    sources: tuple[IncidentStatus, ...],
    action: Action,
    target: IncidentStatus,
    roles: frozenset[Role],
) -> tuple[Transition, ...]:
    return tuple(Transition(source, action, target, roles) for source in sources)


#: The transition table. Nothing else changes an incident's state.
TRANSITIONS: tuple[Transition, ...] = (
    *_rows((S.NEW, S.REOPENED), Action.TRIAGE, S.TRIAGE, _AUTO),
    *_rows((S.RETURNED,), Action.TRIAGE, S.TRIAGE, _OPS),
    *_rows((S.NEW, S.TRIAGE, S.REOPENED), Action.ASSIGN, S.ASSIGNED, _AUTO),
    # From returned: back to the same executor after clarification, or to another one; from
    # assigned and in_progress: re-routing.
    *_rows((S.RETURNED, S.ASSIGNED, S.IN_PROGRESS), Action.ASSIGN, S.ASSIGNED, _OPS),
    *_rows((S.ASSIGNED,), Action.ACCEPT, S.IN_PROGRESS, _EXE),
    *_rows((S.IN_PROGRESS,), Action.ANSWER_INTERIM, S.IN_PROGRESS, _EXE),
    *_rows((S.IN_PROGRESS, S.REWORK), Action.ANSWER_FINAL, S.ANSWERED, _EXE),
    *_rows((S.ANSWERED,), Action.APPROVE, S.APPROVED, _OPS),
    *_rows((S.ANSWERED,), Action.SEND_FOR_REWORK, S.REWORK, _OPS),
    *_rows((S.APPROVED,), Action.PUBLISH, S.PUBLISHED, _AUTO),
    *_rows((S.PUBLISHED,), Action.CLOSE, S.CLOSED, _AUTO),
    *_rows((S.ASSIGNED, S.IN_PROGRESS), Action.RETURN, S.RETURNED, _EXE),
    *_rows((S.NEW, S.TRIAGE, S.RETURNED, S.REOPENED), Action.REJECT, S.REJECTED, _OPS),
    *_rows(
        (S.NEW, S.TRIAGE, S.ASSIGNED, S.IN_PROGRESS, S.RETURNED, S.REOPENED),
        Action.MERGE,
        S.MERGED,
        _OPS,
    ),
    *_rows((S.PUBLISHED, S.CLOSED), Action.REOPEN, S.REOPENED, _AUTO),
)

#: The event kind written when an incident becomes a child of a parent incident (a surge).
PARENT_EVENT = "set_parent"

#: The event kind of a person's change of topic or municipality (not a state change).
RECLASSIFY_EVENT = "reclassify"

#: The event kind of a split (not a state change: the incident keeps its state).
SPLIT_EVENT = "split"

#: States whose messages operators may split off into a new incident, and who may.
SPLITTABLE = frozenset({S.NEW, S.TRIAGE, S.ASSIGNED, S.IN_PROGRESS, S.RETURNED, S.REOPENED})
SPLITTERS = _OPS

_BY_KEY: Mapping[tuple[IncidentStatus, Action], Transition] = MappingProxyType(
    {(t.source, t.action): t for t in TRANSITIONS}
)


def find_transition(source: IncidentStatus, action: Action) -> Transition | None:
    """Return the table's row for this state and action, or None when it is not possible."""
    return _BY_KEY.get((source, action))


def allowed_actions(incident: IncidentRecord, actor: Actor) -> list[Action]:
    """Return the actions the actor may take on the incident now (for screens)."""
    if not can_act_on(actor, incident.executor_code):
        return []
    return [t.action for t in TRANSITIONS if t.source is incident.status and actor.role in t.roles]


def transition_table_markdown() -> str:
    """Render the transition table as the Markdown table docs/workflow.md shows."""
    lines = ["| from | action | to | who |", "| --- | --- | --- | --- |"]
    for t in TRANSITIONS:
        roles = ", ".join(role.value for role in Role if role in t.roles)
        lines.append(f"| `{t.source.value}` | `{t.action.value}` | `{t.target.value}` | {roles} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- clock reports


@dataclass(frozen=True, slots=True)
class BulkAnswer:
    """What answering a parent's children did: the children answered, and those skipped (why)."""

    answered: tuple[IncidentRecord, ...]
    skipped: tuple[tuple[IncidentRecord, str], ...]


@dataclass(frozen=True, slots=True)
class AssignmentClock:
    """One assignment's clock and where it stands."""

    assignment: AssignmentRecord
    clock: SlaClock
    status: ClockStatus


@dataclass(frozen=True, slots=True)
class ClockReport:
    """An incident's clocks at an instant: each executor's own, and the overall one."""

    at: datetime
    assignments: tuple[AssignmentClock, ...]
    overall: SlaClock | None
    overall_status: ClockStatus | None


# --------------------------------------------------------------------------- the workflow


@dataclass
class _Unit:
    """The repositories of one transaction."""

    session: Session
    events: EventRepository
    incidents: IncidentRepository = field(init=False)
    assignments: AssignmentRepository = field(init=False)
    executors: ExecutorRepository = field(init=False)
    answers: AnswerRepository = field(init=False)

    def __post_init__(self) -> None:
        self.incidents = IncidentRepository(self.session)
        self.assignments = AssignmentRepository(self.session)
        self.executors = ExecutorRepository(self.session)
        self.answers = AnswerRepository(self.session)


@dataclass
class _Change:
    """What a step did besides the state change: field updates and the event's payload."""

    payload: dict[str, Any] = field(default_factory=dict)
    resolution: Resolution | None = None
    merged_into_id: int | None = None
    closed_at: datetime | None = None
    clocks: dict[int, SlaClock] = field(default_factory=dict)
    overall: SlaClock | None = None


_Step = Callable[[_Unit, IncidentRecord, datetime, _Change], None]


_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    """Lower-cased words: the fallback for urgency words when no lemmatizer is given."""
    return [w.lower() for w in _WORD.findall(text)]


def _text(value: str, what: str) -> str:
    if not value or not value.strip():
        raise InvalidRequest(f"{what} must not be empty")
    return value.strip()


class Workflow:
    """Moves incidents through the workflow; the only writer of incident state."""

    def __init__(
        self,
        *,
        sessionmaker: sessionmaker[Session],
        clock: Callable[[], datetime],
        routing: Routing,
        event_log: Callable[[Session], EventRepository] = EventRepository,
        lemmatize: Callable[[str], Sequence[str]] | None = None,
        priority: PriorityConfig | None = None,
    ) -> None:
        """Take the session factory, the clock (aware UTC), the routing objects and the log.

        ``lemmatize`` and ``priority`` serve recounting an incident's counters after a merge or
        a split (urgency words are looked up among lemmas; lower-cased words without it).
        """
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._routing = routing
        self._event_log = event_log
        self._lemmatize = lemmatize or _words
        self._priority = priority or PriorityConfig()

    @property
    def routing(self) -> Routing:
        """Return the routing in force (replaced when the calendar or schedules change)."""
        return self._routing

    # ------------------------------------------------------------------ plumbing

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the workflow's clock must return aware datetimes")
        return now.astimezone(UTC)

    def _unit(self, session: Session) -> _Unit:
        return _Unit(session, self._event_log(session))

    @contextmanager
    def _begin(self, session: Session | None) -> Iterator[Session]:
        """Yield the caller's session as it is, or a new one in a transaction committed here."""
        if session is not None:
            yield session
            return
        with self._sessionmaker.begin() as own:
            yield own

    @contextmanager
    def _reading(self, session: Session | None) -> Iterator[Session]:
        """Yield the caller's session, or a new one closed afterwards (for reads)."""
        if session is not None:
            yield session
            return
        with self._sessionmaker() as own:
            yield own

    def _run(
        self,
        incident: IncidentRecord,
        action: Action,
        actor: Actor,
        step: _Step,
        session: Session | None = None,
    ) -> IncidentRecord:
        now = self._now()
        with self._begin(session) as session:
            unit = self._unit(session)
            current = unit.incidents.get(incident.id)
            if current.version != incident.version:
                raise ConcurrentUpdate(incident.id, incident.version, current.version)
            transition = _allowed_transition(current, action, actor)
            change = _Change()
            step(unit, current, now, change)
            new = replace(
                current,
                status=transition.target,
                resolution=change.resolution,
                merged_into_id=change.merged_into_id,
                closed_at=change.closed_at,
            )
            saved = unit.incidents.save_state(new, expected_version=incident.version, now=now)
            payload = dict(change.payload)
            if change.clocks:
                payload["clocks"] = {str(k): clock_to_json(c) for k, c in change.clocks.items()}
            if change.overall is not None:
                payload["overall_clock"] = clock_to_json(change.overall)
            unit.events.append(
                incident_id=current.id,
                actor_user_id=actor.user_id,
                kind=action.value,
                from_status=current.status.value,
                to_status=transition.target.value,
                payload=payload,
                occurred_at=now,
            )
            return saved

    def _overall_on_assign(
        self, unit: _Unit, current: IncidentRecord, now: datetime
    ) -> SlaClock | None:
        """Return the incident's overall clock as an assignment changes it (None: unchanged)."""
        overall = self._overall(unit, current.id)
        if overall is None:
            budget = self._routing.policy.budget_for(
                current.topic_group, current.topic, current.priority.value
            )
            return start_clock(now, budget, self._routing.region_hours)
        if overall.paused:
            return resume(overall, now, self._routing.region_hours)
        return None

    def _clock_of(self, unit: _Unit, assignment: AssignmentRecord) -> SlaClock:
        clock = unit.events.clocks([assignment.incident_id]).get(assignment.id)
        if clock is None:
            raise NotFound(f"assignment {assignment.id} has no clock in the event log")
        return clock

    def _set_clock(
        self,
        unit: _Unit,
        change: _Change,
        assignment: AssignmentRecord,
        clock: SlaClock,
        assignment_status: AssignmentStatus,
    ) -> None:
        hours = self._routing.hours_of(assignment.executor_code)
        paused_at = clock.paused_at
        left = None if paused_at is None else remaining(clock, paused_at, hours)
        unit.assignments.update(
            assignment.id,
            status=assignment_status,
            clock=clock,
            remaining=left,
            at_risk_at=at_risk_of(clock, hours, self._routing.policy.at_risk_share),
        )
        change.clocks[assignment.id] = clock

    def _overall(self, unit: _Unit, incident_id: int) -> SlaClock | None:
        return unit.events.overall_clock(incident_id)

    def _finish_active(
        self,
        unit: _Unit,
        incident: IncidentRecord,
        now: datetime,
        change: _Change,
        final: AssignmentStatus,
    ) -> None:
        """Stop the active assignment's clock (if running or paused) and give it ``final``."""
        active = unit.assignments.active(incident.id)
        if active is None:
            return
        clock = self._clock_of(unit, active)
        if clock.stopped_at is None:
            clock = stop(clock, now)
        self._set_clock(unit, change, active, clock, final)

    def _recount(self, unit: _Unit, incident_id: int) -> IncidentCounters:
        """Recompute and store an incident's counters from the messages linked to it now."""
        grouping = GroupingRepository(unit.session)
        linked = grouping.linked_messages([incident_id])
        authors = {m.author_id for m in linked if m.author_id}
        urgency: list[str] = []
        for m in linked:
            urgency.extend(u.phrase for u in urgency_markers(self._lemmatize(m.text)))
        assessed = assess_priority(
            PrioritySignals(
                message_count=len(linked),
                distinct_authors=len(authors),
                views=sum(m.views for m in linked),
                likes=sum(m.likes for m in linked),
                comments=sum(m.comments for m in linked),
                reposts=sum(m.reposts for m in linked),
                urgency=tuple(urgency),
            ),
            self._priority,
        )
        counters = IncidentCounters(
            message_count=len(linked),
            author_count=len(authors),
            reach=sum(m.views for m in linked),
            priority=Priority(assessed.level.value),
        )
        grouping.set_counters(incident_id, counters)
        return counters

    def _stop_overall(self, unit: _Unit, incident_id: int, now: datetime, change: _Change) -> None:
        overall = self._overall(unit, incident_id)
        if overall is not None and overall.stopped_at is None:
            change.overall = stop(overall, now)

    # ------------------------------------------------------------------ reading

    def get(
        self, incident_id: int, actor: Actor, *, session: Session | None = None
    ) -> IncidentRecord:
        """Return an incident the actor may see; PermissionDenied otherwise."""
        with self._reading(session) as session:
            incident = IncidentRepository(session).get(incident_id)
        if not can(actor, Permission.VIEW_INCIDENTS, incident.executor_code):
            raise PermissionDenied(f"incident {incident.public_number} is not visible to you")
        return incident

    def visible(self, actor: Actor) -> list[IncidentRecord]:
        """Return the open incidents the actor may see (an executor: only its own)."""
        with self._sessionmaker() as session:
            incidents = IncidentRepository(session)
            if actor.role is Role.EXECUTOR and actor.executor_code:
                executor = ExecutorRepository(session).by_code(actor.executor_code)
                return incidents.for_executor(executor.id)
            if not can(actor, Permission.VIEW_INCIDENTS):
                return []
            return incidents.by_status([s for s in IncidentStatus if s not in _ENDED])

    def history(self, incident_id: int, actor: Actor) -> list[EventRecord]:
        """Return the incident's event log (for an actor who may see it)."""
        self.get(incident_id, actor)
        with self._sessionmaker() as session:
            return list(self._event_log(session).for_incident(incident_id))

    def clocks(self, incident_id: int, at: datetime | None = None) -> ClockReport:
        """Report every executor's clock of an incident and its overall clock at ``at``."""
        when = self._now() if at is None else at.astimezone(UTC)
        with self._sessionmaker() as session:
            unit = self._unit(session)
            found = unit.events.clocks([incident_id])
            rows = []
            for assignment in unit.assignments.for_incident(incident_id):
                clock = found.get(assignment.id)
                if clock is None:
                    continue
                hours = self._routing.hours_of(assignment.executor_code)
                rows.append(
                    AssignmentClock(
                        assignment,
                        clock,
                        status(clock, when, hours, self._routing.policy.at_risk_share),
                    )
                )
            overall = self._overall(unit, incident_id)
        overall_status = (
            None
            if overall is None
            else status(
                overall, when, self._routing.region_hours, self._routing.policy.at_risk_share
            )
        )
        return ClockReport(when, tuple(rows), overall, overall_status)

    # ------------------------------------------------------------------ creating and routing

    def open_incident(
        self, new: NewIncident, actor: Actor = SYSTEM, *, session: Session | None = None
    ) -> IncidentRecord:
        """Create an incident in state ``new``, with its ``create`` event."""
        if actor.role not in (Role.SYSTEM, Role.OPERATOR, Role.SUPERVISOR):
            raise PermissionDenied(f"a {actor.role.value} may not open incidents")
        now = self._now()
        with self._begin(session) as session:
            unit = self._unit(session)
            record = unit.incidents.create(new, now=now)
            unit.events.append(
                incident_id=record.id,
                actor_user_id=actor.user_id,
                kind="create",
                from_status=None,
                to_status=record.status.value,
                payload={"public_number": record.public_number},
                occurred_at=now,
            )
            return record

    def open_incidents(
        self, news: Sequence[NewIncident], actor: Actor = SYSTEM, *, session: Session | None = None
    ) -> list[IncidentRecord]:
        """Create many incidents, as :meth:`open_incident` does each, in bulk.

        Their ids are reserved (``IncidentRepository.reserve_ids``) and they are inserted at
        once, so the caller must not hold ids reserved on SQLite meanwhile (see
        ``reserved_ids_stay_free``); one insert of the ``create`` events, in the order given.
        """
        if actor.role not in (Role.SYSTEM, Role.OPERATOR, Role.SUPERVISOR):
            raise PermissionDenied(f"a {actor.role.value} may not open incidents")
        if not news:
            return []
        now = self._now()
        with self._begin(session) as session:
            unit = self._unit(session)
            ids = unit.incidents.reserve_ids(len(news))
            unit.incidents.create_many(
                [
                    OpenedIncident(id=i, new=new, opened_at=now)
                    for i, new in zip(ids, news, strict=True)
                ]
            )
            records = [new_record(i, new, now) for i, new in zip(ids, news, strict=True)]
            unit.events.append_many(
                [
                    NewEvent(
                        incident_id=record.id,
                        actor_user_id=actor.user_id,
                        kind="create",
                        from_status=None,
                        to_status=record.status.value,
                        payload={"public_number": record.public_number},
                        occurred_at=now,
                    )
                    for record in records
                ]
            )
            return records

    def plan_route(self, subject: RoutingSubject, actor: Actor = SYSTEM) -> RouteDecision:
        """Return where :meth:`route` would send ``subject`` (nothing is written)."""
        return self._routing.jurisdiction.route(subject, automatic=actor.role is Role.SYSTEM)

    def route(
        self,
        incident: IncidentRecord,
        subject: RoutingSubject,
        actor: Actor = SYSTEM,
        *,
        session: Session | None = None,
    ) -> tuple[IncidentRecord, RouteDecision]:
        """Route automatically: assign when the rules and confidence allow, else to triage."""
        ((record, decision),) = self.route_many([(incident, subject)], actor, session=session)
        return record, decision

    def route_many(
        self,
        incidents: Sequence[tuple[IncidentRecord, RoutingSubject]],
        actor: Actor = SYSTEM,
        *,
        session: Session | None = None,
    ) -> list[tuple[IncidentRecord, RouteDecision]]:
        """Route many incidents, as :meth:`route` does each, the triages in one bulk write.

        Assignments are made one by one first (each its executor, clock and assignment row; a
        missing calendar year leaves that incident for triage with the reason), then every
        triage through :meth:`triage_many`; returned in the order given.
        """
        results: list[tuple[IncidentRecord, RouteDecision] | None] = []
        triages: list[tuple[int, IncidentRecord, str, RouteDecision]] = []
        with self._begin(session) as session:
            for incident, subject in incidents:
                decision = self.plan_route(subject, actor)
                reason = decision.reason
                if decision.executor is not None:
                    try:
                        record = self.assign(
                            incident,
                            decision.executor,
                            actor,
                            rule_id=decision.rule_id,
                            reason=decision.reason,
                            session=session,
                        )
                    except CalendarError as err:
                        log.error(
                            "incident %s: not assigned to %s, no deadline: %s",
                            incident.public_number,
                            decision.executor,
                            err,
                        )
                        reason = f"срок не вычислен ({decision.executor}): {err}"
                    else:
                        results.append((record, decision))
                        continue
                if incident.status is S.TRIAGE:
                    results.append((incident, decision))
                    continue
                triages.append((len(results), incident, reason, decision))
                results.append(None)
            saved = self.triage_many(
                [(incident, reason) for _, incident, reason, _ in triages], actor, session=session
            )
        for (k, _incident, _reason, decision), record in zip(triages, saved, strict=True):
            results[k] = (record, decision)
        return [r for r in results if r is not None]

    def triage(
        self,
        incident: IncidentRecord,
        actor: Actor,
        *,
        reason: str = "",
        session: Session | None = None,
    ) -> IncidentRecord:
        """Put the incident in the operators' triage queue."""

        def step(unit: _Unit, current: IncidentRecord, now: datetime, change: _Change) -> None:
            change.payload["reason"] = reason

        return self._run(incident, Action.TRIAGE, actor, step, session)

    def triage_many(
        self,
        incidents: Sequence[tuple[IncidentRecord, str]],
        actor: Actor,
        *,
        session: Session | None = None,
    ) -> list[IncidentRecord]:
        """Put many ``(incident, reason)`` in the triage queue, as :meth:`triage` does each.

        The same checks, rows and events, written in bulk (the pipeline's new incidents: one
        update and one multi-row event insert for a batch); returned in the order given.
        """
        if not incidents:
            return []
        now = self._now()
        for incident, _reason in incidents:
            _allowed_transition(incident, Action.TRIAGE, actor)
        with self._begin(session) as session:
            unit = self._unit(session)
            saved = unit.incidents.set_status_many(
                [incident for incident, _ in incidents], S.TRIAGE, now=now
            )
            unit.events.append_many(
                [
                    NewEvent(
                        incident_id=incident.id,
                        actor_user_id=actor.user_id,
                        kind=Action.TRIAGE.value,
                        from_status=incident.status.value,
                        to_status=S.TRIAGE.value,
                        payload={"reason": reason},
                        occurred_at=now,
                    )
                    for incident, reason in incidents
                ]
            )
            return saved

    def assign(
        self,
        incident: IncidentRecord,
        executor: str,
        actor: Actor,
        *,
        rule_id: str | None = None,
        reason: str = "",
        session: Session | None = None,
    ) -> IncidentRecord:
        """Assign (or re-route) the incident to an executor, which receives it at once.

        The executor's clock starts now (counting from its next opening). Back to the executor
        that paused it for clarification, its clock resumes with the budget left. Re-routing
        stops the previous executor's clock; the incident's overall clock keeps running.
        """

        def step(unit: _Unit, current: IncidentRecord, now: datetime, change: _Change) -> None:
            target = unit.executors.by_code(executor)
            hours = self._routing.hours_of(executor)
            active = unit.assignments.active(current.id)
            same = active is not None and active.executor_id == target.id
            if active is not None and same and active.status is not AssignmentStatus.PAUSED:
                raise InvalidRequest(f"incident is already assigned to {executor}")
            # Every deadline is computed before anything is written, so a calendar that lacks a
            # year (CalendarYearMissing) leaves the session as it was (see ``route``).
            overall = self._overall_on_assign(unit, current, now)
            if active is not None and same:
                clock = resume(self._clock_of(unit, active), now, hours)
                self._set_clock(unit, change, active, clock, AssignmentStatus.RECEIVED)
                assignment_id = active.id
            else:
                budget = self._routing.policy.budget_for(
                    current.topic_group, current.topic, current.priority.value
                )
                clock = start_clock(now, budget, hours)
                at_risk_at = at_risk_of(clock, hours, self._routing.policy.at_risk_share)
                if active is not None:
                    self._finish_active(unit, current, now, change, AssignmentStatus.REROUTED)
                record = unit.assignments.add(
                    current.id,
                    target.id,
                    clock=clock,
                    status=AssignmentStatus.RECEIVED,
                    rule_id=rule_id,
                    now=now,
                    at_risk_at=at_risk_at,
                )
                change.clocks[record.id] = clock
                assignment_id = record.id
            change.overall = overall
            change.payload.update(
                executor=executor,
                assignment_id=assignment_id,
                rule_id=rule_id,
                reason=reason,
                rerouted=active is not None and not same,
            )

        return self._run(incident, Action.ASSIGN, actor, step, session)

    # ------------------------------------------------------------------ executor's side

    def accept(self, incident: IncidentRecord, actor: Actor) -> IncidentRecord:
        """The executor takes the incident into work."""

        def step(unit: _Unit, current: IncidentRecord, now: datetime, change: _Change) -> None:
            active = unit.assignments.active(current.id)
            change.payload["assignment_id"] = active.id if active else None

        return self._run(incident, Action.ACCEPT, actor, step)

    def answer(
        self, incident: IncidentRecord, actor: Actor, text: str, *, interim: bool = False
    ) -> IncidentRecord:
        """Record the executor's answer: interim (a longer deadline) or final (stops its clock)."""
        body = _text(text, "the answer")
        action = Action.ANSWER_INTERIM if interim else Action.ANSWER_FINAL

        def step(unit: _Unit, current: IncidentRecord, now: datetime, change: _Change) -> None:
            active = unit.assignments.active(current.id)
            if active is None:
                raise InvalidRequest("the incident has no active assignment to answer")
            hours = self._routing.hours_of(active.executor_code)
            clock = self._clock_of(unit, active)
            kind = AnswerKind.INTERIM if interim else AnswerKind.FINAL
            answer = unit.answers.add(current.id, active.id, actor.user_id, body, kind, now=now)
            overall = self._overall(unit, current.id)
            if interim:
                clock = switch_to_interim(
                    clock, now, self._routing.policy.interim_budget(hours.schedule), hours
                )
                self._set_clock(unit, change, active, clock, AssignmentStatus.RECEIVED)
                if overall is not None and overall.stopped_at is None:
                    region = self._routing.region_hours
                    change.overall = switch_to_interim(
                        overall, now, self._routing.policy.interim_budget(region.schedule), region
                    )
            else:
                self._set_clock(unit, change, active, stop(clock, now), AssignmentStatus.ANSWERED)
                self._stop_overall(unit, current.id, now, change)
            change.payload.update(answer_id=answer.id, assignment_id=active.id)

        return self._run(incident, action, actor, step)

    def return_(
        self, incident: IncidentRecord, actor: Actor, reason: str, kind: ReturnKind
    ) -> IncidentRecord:
        """The executor returns the incident: "not ours" (its clock stops) or for clarification.

        Clarification pauses the executor's clock and the overall clock; they resume with the
        budget left when the operator assigns the incident back to the same executor.
        """
        why = _text(reason, "the reason")

        def step(unit: _Unit, current: IncidentRecord, now: datetime, change: _Change) -> None:
            active = unit.assignments.active(current.id)
            if active is None:
                raise InvalidRequest("the incident has no active assignment to return")
            clock = self._clock_of(unit, active)
            if kind is ReturnKind.NOT_OURS:
                self._set_clock(unit, change, active, stop(clock, now), AssignmentStatus.RETURNED)
            else:
                self._set_clock(unit, change, active, pause(clock, now), AssignmentStatus.PAUSED)
                overall = self._overall(unit, current.id)
                if overall is not None and overall.running:
                    change.overall = pause(overall, now)
            change.payload.update(
                reason=why,
                return_kind=kind.value,
                assignment_id=active.id,
                executor=active.executor_code,
                rule_id=active.rule_id,
            )

        return self._run(incident, Action.RETURN, actor, step)

    # ------------------------------------------------------------------ review and publication

    def approve(self, incident: IncidentRecord, actor: Actor) -> IncidentRecord:
        """Approve the executor's final answer for publication."""

        def step(unit: _Unit, current: IncidentRecord, now: datetime, change: _Change) -> None:
            answer = unit.answers.latest_final(current.id)
            if answer is None:
                raise InvalidRequest("there is no final answer to approve")
            unit.answers.set_status(answer.id, AnswerStatus.APPROVED, now=now)
            change.payload["answer_id"] = answer.id

        return self._run(incident, Action.APPROVE, actor, step)

    def send_for_rework(
        self, incident: IncidentRecord, actor: Actor, comment: str
    ) -> IncidentRecord:
        """Send the answer back (a formal brush-off); the executor's clock runs again."""
        why = _text(comment, "the comment")

        def step(unit: _Unit, current: IncidentRecord, now: datetime, change: _Change) -> None:
            answer = unit.answers.latest_final(current.id)
            active = unit.assignments.active(current.id)
            if answer is None or active is None:
                raise InvalidRequest("there is no answer to send back")
            unit.answers.set_status(answer.id, AnswerStatus.REWORK, now=now, review_comment=why)
            hours = self._routing.hours_of(active.executor_code)
            clock = restart(self._clock_of(unit, active), now, hours)
            self._set_clock(unit, change, active, clock, AssignmentStatus.RECEIVED)
            overall = self._overall(unit, current.id)
            if overall is not None and overall.stopped_at is not None:
                change.overall = restart(overall, now, self._routing.region_hours)
            change.payload.update(answer_id=answer.id, comment=why, assignment_id=active.id)

        return self._run(incident, Action.SEND_FOR_REWORK, actor, step)

    def publish(
        self, incident: IncidentRecord, actor: Actor, *, external_reply_id: str | None = None
    ) -> IncidentRecord:
        """Mark the approved answer as published in the citizen's thread."""

        def step(unit: _Unit, current: IncidentRecord, now: datetime, change: _Change) -> None:
            answer = unit.answers.latest_final(current.id)
            if answer is None:
                raise InvalidRequest("there is no answer to publish")
            unit.answers.set_status(answer.id, AnswerStatus.PUBLISHED, now=now)
            change.payload.update(answer_id=answer.id, external_reply_id=external_reply_id)

        return self._run(incident, Action.PUBLISH, actor, step)

    def close(
        self,
        incident: IncidentRecord,
        actor: Actor,
        resolution: Resolution,
        *,
        message_id: int | None = None,
        evidence: Mapping[str, Any] | None = None,
        also: Callable[[Session], None] | None = None,
    ) -> IncidentRecord:
        """Close the incident, saying whether the problem was fixed or only answered.

        ``message_id`` names the message that closed it (the citizen's thanks), linked like
        in :meth:`reopen`; ``also`` runs in the same transaction.
        """

        def step(unit: _Unit, current: IncidentRecord, now: datetime, change: _Change) -> None:
            active = unit.assignments.active(current.id)
            if active is not None:
                self._set_clock(
                    unit, change, active, self._clock_of(unit, active), AssignmentStatus.CLOSED
                )
            change.resolution = resolution
            change.closed_at = now
            change.payload["resolution"] = resolution.value
            if message_id is not None:
                self._link_evidence(unit, current.id, message_id, evidence, now)
                change.payload["message_id"] = message_id
            if evidence:
                change.payload["evidence"] = dict(evidence)
            if also is not None:
                also(unit.session)

        return self._run(incident, Action.CLOSE, actor, step)

    # ------------------------------------------------------------------ side exits

    def reject(self, incident: IncidentRecord, actor: Actor, reason: str) -> IncidentRecord:
        """Reject: not an incident (spam, ads, not in the region)."""
        why = _text(reason, "the reason")

        def step(unit: _Unit, current: IncidentRecord, now: datetime, change: _Change) -> None:
            self._finish_active(unit, current, now, change, AssignmentStatus.CLOSED)
            self._stop_overall(unit, current.id, now, change)
            change.closed_at = now
            change.payload["reason"] = why

        return self._run(incident, Action.REJECT, actor, step)

    def merge(self, incident: IncidentRecord, into: int, actor: Actor) -> IncidentRecord:
        """Merge the incident into another one, which carries on."""

        def step(unit: _Unit, current: IncidentRecord, now: datetime, change: _Change) -> None:
            if into == current.id:
                raise InvalidRequest("an incident cannot be merged into itself")
            target = unit.incidents.get(into)
            if target.status in (S.MERGED, S.REJECTED, S.CLOSED):
                raise InvalidRequest(
                    f"cannot merge into incident {target.public_number}: it is "
                    f"{target.status.value}"
                )
            self._finish_active(unit, current, now, change, AssignmentStatus.CLOSED)
            self._stop_overall(unit, current.id, now, change)
            grouping = GroupingRepository(unit.session)
            moved = grouping.move_links(current.id, into)
            grouping.copy_fingerprints(current.id, into, now=now)
            self._recount(unit, current.id)
            counters = self._recount(unit, into)
            change.merged_into_id = into
            change.closed_at = now
            change.payload.update(
                into=into,
                into_number=target.public_number,
                message_ids=moved,
                into_messages=counters.message_count,
                into_authors=counters.author_count,
                into_reach=counters.reach,
                into_priority=counters.priority.value,
            )

        return self._run(incident, Action.MERGE, actor, step)

    def split(
        self,
        incident: IncidentRecord,
        message_ids: Sequence[int],
        actor: Actor,
        reason: str,
        *,
        subject: RoutingSubject | None = None,
    ) -> tuple[IncidentRecord, IncidentRecord]:
        """Move some of the incident's messages into a new incident, which is then routed.

        In one transaction: the new incident (same topic and municipality) with its ``create``
        event, the links moved, both incidents' counters recounted, a ``split`` event on each.
        The incident keeps its state; the new one is routed like any new incident (``subject``
        defaults to the incident's topic and municipality, as a person set them). Returns the
        incident and the new one, both as they are afterwards.
        """
        why = _text(reason, "the reason")
        wanted = list(dict.fromkeys(message_ids))
        if not wanted:
            raise InvalidRequest("name the messages to split off")
        created: list[IncidentRecord] = []

        def step(unit: _Unit, current: IncidentRecord, now: datetime, change: _Change) -> None:
            grouping = GroupingRepository(unit.session)
            linked = grouping.linked(wanted)
            strangers = sorted(m for m in wanted if linked.get(m) != current.id)
            if strangers:
                raise InvalidRequest(
                    f"messages {strangers} are not linked to incident {current.public_number}"
                )
            before = grouping.counters(current.id)
            if len(wanted) >= before.message_count:
                raise InvalidRequest("at least one message must stay with the incident")
            texts = {m.message_id: m.text for m in grouping.linked_messages([current.id])}
            title = " ".join(texts.get(wanted[0], "").split())[:200] or current.title
            new = unit.incidents.create(
                NewIncident(
                    public_number=f"{current.public_number}-S{min(wanted)}"[:32],
                    title=title,
                    summary=texts.get(wanted[0], "")[:4000],
                    topic_group=current.topic_group,
                    topic=current.topic,
                    municipality=unit.incidents.municipality(current.id),
                    municipality_oktmo=current.municipality_oktmo,
                    priority=current.priority,
                ),
                now=now,
            )
            unit.events.append(
                incident_id=new.id,
                actor_user_id=actor.user_id,
                kind="create",
                from_status=None,
                to_status=new.status.value,
                payload={"public_number": new.public_number, "split_from": current.id},
                occurred_at=now,
            )
            moved = grouping.move_links(current.id, new.id, wanted)
            kept = self._recount(unit, current.id)
            split_off = self._recount(unit, new.id)
            unit.events.append(
                incident_id=new.id,
                actor_user_id=actor.user_id,
                kind=SPLIT_EVENT,
                from_status=None,
                to_status=None,
                payload={
                    "split_from": current.id,
                    "split_from_number": current.public_number,
                    "message_ids": moved,
                    "reason": why,
                    "messages": split_off.message_count,
                    "authors": split_off.author_count,
                    "reach": split_off.reach,
                    "priority": split_off.priority.value,
                },
                occurred_at=now,
            )
            change.payload.update(
                new_incident=new.id,
                new_number=new.public_number,
                message_ids=moved,
                reason=why,
                messages=kept.message_count,
                authors=kept.author_count,
                reach=kept.reach,
                priority=kept.priority.value,
            )
            created.append(new)

        if actor.role not in SPLITTERS:
            raise PermissionDenied(f"a {actor.role.value} may not split incidents")
        now = self._now()
        with self._sessionmaker.begin() as session:
            unit = self._unit(session)
            current = unit.incidents.get(incident.id)
            if current.version != incident.version:
                raise ConcurrentUpdate(incident.id, incident.version, current.version)
            if current.status not in SPLITTABLE:
                raise TransitionNotAllowed(
                    f"incident {current.public_number}: cannot split from {current.status.value}"
                )
            change = _Change()
            step(unit, current, now, change)
            source = unit.incidents.save_state(current, expected_version=incident.version, now=now)
            unit.events.append(
                incident_id=current.id,
                actor_user_id=actor.user_id,
                kind=SPLIT_EVENT,
                from_status=current.status.value,
                to_status=current.status.value,
                payload=change.payload,
                occurred_at=now,
            )
        with self._sessionmaker() as session:
            fresh = IncidentRepository(session).get(created[0].id)
        routed, _ = self.route(
            fresh,
            subject or RoutingSubject(fresh.topic_group, fresh.topic, fresh.municipality_oktmo),
            actor,
        )
        return source, routed

    def set_parent(
        self,
        child: IncidentRecord,
        parent_id: int,
        actor: Actor = SYSTEM,
        *,
        session: Session | None = None,
    ) -> IncidentRecord:
        """Make the incident a child of a parent incident (a surge), with a ``set_parent`` event.

        Not workflow state: the child's version is left alone, so a screen (or the pipeline's
        routing) holding it stays valid.
        """
        if actor.role not in (Role.SYSTEM, Role.OPERATOR, Role.SUPERVISOR):
            raise PermissionDenied(f"a {actor.role.value} may not group incidents")
        if parent_id == child.id:
            raise InvalidRequest("an incident cannot be its own parent")
        now = self._now()
        with self._begin(session) as session:
            unit = self._unit(session)
            current = unit.incidents.get(child.id)
            parent = unit.incidents.get(parent_id)
            refusal = parent_refusal(current, parent)
            if refusal is not None:
                raise InvalidRequest(refusal)
            unit.incidents.set_parent(current.id, parent_id)
            unit.events.append_many([_parent_event(current, parent, actor, now)])
            # What the read back would give: the parent is the only column set, not a field
            # of the version (no re-read: a surge's and a related link's hot path).
            return replace(current, parent_incident_id=parent_id)

    def set_parents(
        self,
        pairs: Sequence[tuple[IncidentRecord, IncidentRecord]],
        actor: Actor = SYSTEM,
        *,
        session: Session | None = None,
    ) -> list[IncidentRecord]:
        """Make many children of parents, as :meth:`set_parent` does each, in bulk.

        Each pair is ``(child, parent)`` as stored now (read in the caller's transaction: the
        pipeline's related links read them together); :func:`parent_refusal` of a pair raises
        InvalidRequest before anything is written. One update and one event insert for all;
        the children returned in the order given.
        """
        if actor.role not in (Role.SYSTEM, Role.OPERATOR, Role.SUPERVISOR):
            raise PermissionDenied(f"a {actor.role.value} may not group incidents")
        if not pairs:
            return []
        for child, parent in pairs:
            refusal = parent_refusal(child, parent)
            if refusal is not None:
                raise InvalidRequest(refusal)
        now = self._now()
        with self._begin(session) as session:
            unit = self._unit(session)
            unit.incidents.set_parents([(child.id, parent.id) for child, parent in pairs])
            unit.events.append_many(
                [_parent_event(child, parent, actor, now) for child, parent in pairs]
            )
        return [replace(child, parent_incident_id=parent.id) for child, parent in pairs]

    def reclassify(
        self,
        incident: IncidentRecord,
        actor: Actor,
        *,
        topic_group: str | None,
        topic: str | None,
        municipality: str | None,
        municipality_oktmo: str | None,
    ) -> IncidentRecord:
        """Set the topic and municipality an operator chose; each change is a training label.

        Not a state change, but the version moves (a page showing the old topic is stale). In
        one transaction: the incident's fields, a training label per linked message for each
        field that changed (``topic``: the topic's name; ``municipality``: its OKTMO code) and
        a ``reclassify`` event with the old and new values.
        """
        if actor.role not in SPLITTERS:
            raise PermissionDenied(f"a {actor.role.value} may not reclassify incidents")
        now = self._now()
        with self._sessionmaker.begin() as session:
            unit = self._unit(session)
            current = unit.incidents.get(incident.id)
            if current.version != incident.version:
                raise ConcurrentUpdate(incident.id, incident.version, current.version)
            if current.status in _ENDED:
                raise TransitionNotAllowed(
                    f"incident {current.public_number}: cannot reclassify a "
                    f"{current.status.value} incident"
                )
            old_municipality = unit.incidents.municipality(current.id)
            labels = LabelRepository(session)
            labelled = 0
            if topic is not None and topic != current.topic:
                labelled += labels.label_incident(
                    current.id, LabelField.TOPIC, topic, user_id=actor.user_id, now=now
                )
            if municipality_oktmo is not None and municipality_oktmo != current.municipality_oktmo:
                labelled += labels.label_incident(
                    current.id,
                    LabelField.MUNICIPALITY,
                    municipality_oktmo,
                    user_id=actor.user_id,
                    now=now,
                )
            saved = unit.incidents.set_classification(
                current.id,
                expected_version=incident.version,
                topic_group=topic_group,
                topic=topic,
                municipality=municipality,
                municipality_oktmo=municipality_oktmo,
                now=now,
            )
            unit.events.append(
                incident_id=current.id,
                actor_user_id=actor.user_id,
                kind=RECLASSIFY_EVENT,
                from_status=current.status.value,
                to_status=current.status.value,
                payload={
                    "topic_group": [current.topic_group, topic_group],
                    "topic": [current.topic, topic],
                    "municipality": [old_municipality, municipality],
                    "municipality_oktmo": [current.municipality_oktmo, municipality_oktmo],
                    "labels": labelled,
                },
                occurred_at=now,
            )
            return saved

    def children(self, parent_id: int) -> list[IncidentRecord]:
        """Return a parent incident's children, oldest first."""
        with self._sessionmaker() as session:
            return IncidentRepository(session).children(parent_id)

    def answer_children(
        self, parent: IncidentRecord, text: str, actor: Actor, *, interim: bool = False
    ) -> BulkAnswer:
        """Answer each open child of a parent incident with the same text (a surge's answer).

        Each child goes through ``answer`` on its own (its transition, clock and event); a child
        that may not be answered now (its state, or assigned to another executor) is reported
        in ``skipped`` with the reason, and the others are answered all the same.
        """
        _text(text, "the answer")
        answered: list[IncidentRecord] = []
        skipped: list[tuple[IncidentRecord, str]] = []
        for child in self.children(parent.id):
            if child.status in _ENDED:
                continue
            try:
                answered.append(self.answer(child, actor, text, interim=interim))
            except (WorkflowError, ConcurrentUpdate) as err:
                skipped.append((child, str(err)))
        return BulkAnswer(tuple(answered), tuple(skipped))

    def reopen(
        self,
        incident: IncidentRecord,
        actor: Actor,
        reason: str,
        *,
        message_id: int | None = None,
        evidence: Mapping[str, Any] | None = None,
        also: Callable[[Session], None] | None = None,
    ) -> IncidentRecord:
        """Reopen after publication (the citizen's "не решено"); it is then routed again.

        ``message_id`` names the message that reopened it (the follow-up comment): linked to
        the incident unless it is linked already, and named in the event. ``also`` runs in
        the same transaction (the follow-up job records its verdict there).
        """
        why = _text(reason, "the reason")

        def step(unit: _Unit, current: IncidentRecord, now: datetime, change: _Change) -> None:
            active = unit.assignments.active(current.id)
            if active is not None:
                self._set_clock(
                    unit, change, active, self._clock_of(unit, active), AssignmentStatus.CLOSED
                )
            change.payload["reason"] = why
            if message_id is not None:
                self._link_evidence(unit, current.id, message_id, evidence, now)
                change.payload["message_id"] = message_id
            if evidence:
                change.payload["evidence"] = dict(evidence)
            if also is not None:
                also(unit.session)

        return self._run(incident, Action.REOPEN, actor, step)

    def _link_evidence(
        self,
        unit: _Unit,
        incident_id: int,
        message_id: int,
        evidence: Mapping[str, Any] | None,
        now: datetime,
    ) -> None:
        """Link a message to the incident (unless it is linked somewhere) and recount it."""
        grouping = GroupingRepository(unit.session)
        if message_id in grouping.linked([message_id]):
            return
        grouping.link(
            incident_id=incident_id,
            message_id=message_id,
            grouping_version=FOLLOWUP_LINK_VERSION,
            evidence=dict(evidence or {}),
            now=now,
        )
        self._recount(unit, incident_id)

    # ------------------------------------------------------------------ deadlines

    def escalate(self) -> EscalationPlan:
        """Record the escalations due now (once per assignment and level) and return the plan.

        The caller notifies supervisors of ``send_now``; ``queued`` ones come back on a later
        run, once the supervisors' working hours open (unless configured otherwise).
        """
        now = self._now()
        with self._sessionmaker.begin() as session:
            unit = self._unit(session)
            unit.events.lock_escalations()
            open_ = unit.assignments.open_clocks()
            found = unit.events.clocks({a.incident_id for a in open_})
            watched = [
                Watched(
                    a.id,
                    a.incident_id,
                    a.executor_code,
                    found[a.id],
                    self._routing.hours_of(a.executor_code),
                )
                for a in open_
                if a.id in found
            ]
            plan = plan_escalations(
                watched,
                now=now,
                sent=unit.events.escalation_keys({a.incident_id for a in open_}),
                receiver_hours=self._routing.region_hours,
                at_risk_share=self._routing.policy.at_risk_share,
                outside_hours=self._routing.escalate_outside_hours,
            )
            for item in plan.send_now:
                unit.events.append(
                    incident_id=item.incident_id,
                    actor_user_id=None,
                    kind=ESCALATION_EVENT,
                    from_status=None,
                    to_status=None,
                    payload={
                        "key": item.key,
                        "level": item.level.value,
                        "assignment_id": item.assignment_id,
                        "executor": item.executor,
                        "reason": item.reason,
                        "deadline": item.deadline.isoformat() if item.deadline else None,
                        "share_used": item.share_used,
                    },
                    occurred_at=now,
                )
            return plan

    def recompute_deadlines(self, routing: Routing) -> int:
        """Recompute every running clock under new working hours (a calendar or schedule change).

        Later calls use ``routing``. Returns how many executors' deadlines moved; each move is
        an event, and so is each incident's overall clock moved with them (in region hours).
        """
        self._routing = routing
        now = self._now()
        moved = 0
        with self._sessionmaker.begin() as session:
            unit = self._unit(session)
            open_ = unit.assignments.open_clocks()
            found = unit.events.clocks({a.incident_id for a in open_})
            for assignment in open_:
                clock = found.get(assignment.id)
                if clock is None:
                    continue
                hours = routing.hours_of(assignment.executor_code)
                try:
                    new = recompute(clock, hours)
                    at_risk_at = at_risk_of(new, hours, routing.policy.at_risk_share)
                except CalendarError as err:
                    # One deadline pushed into a year the calendar lacks must not undo the
                    # others (the change is seen once: it would never be recomputed again).
                    log.error(
                        "deadlines: the deadline of incident %d (assignment %d) cannot be "
                        "recomputed and stays %s: %s",
                        assignment.incident_id,
                        assignment.id,
                        clock.deadline.isoformat() if clock.deadline else None,
                        err,
                    )
                    continue
                if new.deadline == clock.deadline:
                    continue
                unit.assignments.update(
                    assignment.id,
                    status=assignment.status,
                    clock=new,
                    at_risk_at=at_risk_at,
                )
                unit.events.append(
                    incident_id=assignment.incident_id,
                    actor_user_id=None,
                    kind="recompute_deadline",
                    from_status=None,
                    to_status=None,
                    payload={
                        "assignment_id": assignment.id,
                        "old_deadline": clock.deadline.isoformat() if clock.deadline else None,
                        "clocks": {str(assignment.id): clock_to_json(new)},
                    },
                    occurred_at=now,
                )
                moved += 1
            # Returned by its executor ("не наш") or back in triage, an incident has no running
            # assignment, but its overall clock keeps counting.
            returned = unit.assignments.assigned_incident_ids([S.RETURNED, S.TRIAGE])
            for incident_id in sorted({a.incident_id for a in open_} | set(returned)):
                self._recompute_overall(unit, incident_id, routing, now)
        return moved

    def _recompute_overall(
        self, unit: _Unit, incident_id: int, routing: Routing, now: datetime
    ) -> None:
        """Move the incident's running overall clock under the new region hours (an event)."""
        overall = self._overall(unit, incident_id)
        if overall is None or not overall.running:
            return
        try:
            new = recompute(overall, routing.region_hours)
        except CalendarError as err:
            log.error(
                "deadlines: the overall deadline of incident %d cannot be recomputed and "
                "stays %s: %s",
                incident_id,
                overall.deadline.isoformat() if overall.deadline else None,
                err,
            )
            return
        if new.deadline == overall.deadline:
            return
        unit.events.append(
            incident_id=incident_id,
            actor_user_id=None,
            kind="recompute_deadline",
            from_status=None,
            to_status=None,
            payload={
                "old_overall_deadline": overall.deadline.isoformat() if overall.deadline else None,
                "overall_clock": clock_to_json(new),
            },
            occurred_at=now,
        )

    # ------------------------------------------------------------------ messages (the pipeline)

    def _link(self, unit: _Unit, incident_id: int, link: MessageLink, now: datetime) -> None:
        self._link_many(unit, [(incident_id, link)], now)

    def _link_many(
        self,
        unit: _Unit,
        links: Sequence[tuple[int, MessageLink]],
        now: datetime,
        before: Mapping[int, IncidentCounters] | None = None,
        first: Sequence[NewEvent] = (),
        counted: Collection[int] = (),
    ) -> None:
        """Write links, fingerprints, counters and ``attach`` events of many messages in bulk.

        One statement per table however many links (the pipeline's batches): the links, the
        fingerprints not stored yet, each incident's last counters, the events in the order
        given. ``priority_before`` of an incident's first event is its stored priority (or the
        one in ``before``), of each later one the priority its previous link set. ``first``
        are events written just before the attach events, in the same statement; incidents in
        ``before`` are taken to be new, with no stored fingerprints to skip; those in
        ``counted`` already store the counters their (only) link sets.
        """
        if not links:
            return
        grouping = GroupingRepository(unit.session)
        grouping.link_many(
            [
                NewLink(incident_id, link.message_id, link.grouping_version, dict(link.evidence))
                for incident_id, link in links
            ],
            now=now,
        )
        grouping.add_fingerprints_many(
            [
                (incident_id, fp, version)
                for incident_id, link in links
                for fp, version in link.fingerprints
            ],
            now=now,
            fresh=(before or {}).keys(),
        )
        current = dict(before or {})
        unknown = {incident_id for incident_id, _ in links} - current.keys()
        current.update(grouping.counters_many(unknown))
        events = list(first)
        for incident_id, link in links:
            events.append(
                NewEvent(
                    incident_id=incident_id,
                    actor_user_id=None,
                    kind=ATTACH_EVENT,
                    from_status=None,
                    to_status=None,
                    payload={
                        "message_id": link.message_id,
                        "message_key": link.message_key,
                        "grouping_version": link.grouping_version,
                        "evidence": dict(link.evidence),
                        "messages": link.counters.message_count,
                        "authors": link.counters.author_count,
                        "reach": link.counters.reach,
                        "priority": link.counters.priority.value,
                        "priority_before": current[incident_id].priority.value,
                    },
                    occurred_at=now,
                )
            )
            current[incident_id] = link.counters
        grouping.set_counters_many(
            {
                incident_id: link.counters
                for incident_id, link in links
                if incident_id not in counted
            }
        )
        unit.events.append_many(events)

    def open_incident_with_message(
        self,
        new: NewIncident,
        link: MessageLink,
        *,
        also: Callable[[Session], None] | None = None,
        session: Session | None = None,
    ) -> IncidentRecord:
        """Open an incident from its first message, in one transaction.

        The incident (state ``new``) and its ``create`` event, the message's link with the
        grouping evidence, its fingerprints and an ``attach`` event are written together with
        whatever ``also`` writes (the pipeline stores the message's classification there), so a
        crash leaves either all of it or none. With ``session``, all of it is written in the
        caller's transaction (the pipeline's batch) instead of one of its own.
        """
        now = self._now()
        with self._begin(session) as session:
            unit = self._unit(session)
            counted = link.counters.priority is new.priority
            record = unit.incidents.create(
                new,
                now=now,
                # Its first message's counters go in with it (an UPDATE saved) when they agree.
                message_count=link.counters.message_count if counted else 0,
                author_count=link.counters.author_count if counted else 0,
                reach=link.counters.reach if counted else 0,
            )
            created = NewEvent(
                incident_id=record.id,
                actor_user_id=None,
                kind="create",
                from_status=None,
                to_status=record.status.value,
                payload={"public_number": record.public_number, "message_key": link.message_key},
                occurred_at=now,
            )
            # Just created: its stored priority is the one it was opened with, it has no
            # fingerprints yet, and its create event goes in with the attach event.
            opened = IncidentCounters(0, 0, 0, record.priority)
            self._link_many(
                unit,
                [(record.id, link)],
                now,
                before={record.id: opened},
                first=[created],
                counted=[record.id] if counted else (),
            )
            if also is not None:
                also(session)
            return record

    def planned_incident(self, incident_id: int, new: NewIncident) -> IncidentRecord:
        """Return the record ``new`` will have, opened now under ``incident_id`` (reserved).

        Written later by :meth:`open_incidents_with_messages` (the pipeline's batches: the
        grouping needs the id at once, the rows can wait for the batch's bulk write).
        """
        return new_record(incident_id, new, self._now())

    def open_incidents_with_messages(
        self,
        opened: Sequence[tuple[IncidentRecord, NewIncident, MessageLink]],
        *,
        session: Session | None = None,
    ) -> None:
        """Open many incidents, each from its first message, as :meth:`open_incident_with_message`.

        Each is ``(record, incident, link)``, the record from :meth:`planned_incident` (its id
        reserved by ``IncidentRepository.reserve_ids``). The same rows and events, in bulk: one
        multi-row insert of the incidents, then their links, fingerprints and the ``create``
        and ``attach`` events as :meth:`attach_messages` writes them (one statement a table).
        """
        if not opened:
            return
        now = self._now()
        with self._begin(session) as session:
            unit = self._unit(session)
            rows, created, before, counted = [], [], {}, []
            for record, new, link in opened:
                # Its first message's counters go in with it (an UPDATE saved) when they agree.
                agree = link.counters.priority is new.priority
                rows.append(
                    OpenedIncident(
                        id=record.id,
                        new=new,
                        opened_at=record.created_at,
                        message_count=link.counters.message_count if agree else 0,
                        author_count=link.counters.author_count if agree else 0,
                        reach=link.counters.reach if agree else 0,
                    )
                )
                created.append(
                    NewEvent(
                        incident_id=record.id,
                        actor_user_id=None,
                        kind="create",
                        from_status=None,
                        to_status=record.status.value,
                        payload={
                            "public_number": record.public_number,
                            "message_key": link.message_key,
                        },
                        occurred_at=record.created_at,
                    )
                )
                before[record.id] = IncidentCounters(0, 0, 0, record.priority)
                if agree:
                    counted.append(record.id)
            unit.incidents.create_many(rows)
            self._link_many(
                unit,
                [(record.id, link) for record, _new, link in opened],
                now,
                before=before,
                first=created,
                counted=counted,
            )

    def attach_message(
        self,
        incident_id: int,
        link: MessageLink,
        *,
        also: Callable[[Session], None] | None = None,
        session: Session | None = None,
    ) -> None:
        """Attach a message to an incident: link, fingerprints, counters and an ``attach`` event.

        Counters (messages, distinct authors, reach, priority) are not workflow state and do not
        bump the incident's version. ``also`` runs in the same transaction (the caller's, with
        ``session``).
        """
        now = self._now()
        with self._begin(session) as session:
            unit = self._unit(session)
            self._link(unit, incident_id, link, now)
            if also is not None:
                also(session)

    def attach_messages(
        self, links: Sequence[tuple[int, MessageLink]], *, session: Session | None = None
    ) -> None:
        """Attach many messages, each to its incident, as :meth:`attach_message` does one.

        The same rows and events, written in bulk (a few statements however many messages:
        the pipeline's batches); ``links`` are ``(incident id, link)`` in the order they were
        decided, so each incident's events and counters follow that order.
        """
        now = self._now()
        with self._begin(session) as session:
            self._link_many(self._unit(session), links, now)

    def record_tombstones(
        self, incident_id: int | None, fingerprints: Iterable[str], *, reason: str
    ) -> int:
        """Store tombstones for dismissed fingerprints, with a ``tombstone`` event; return new."""
        now = self._now()
        values = list(dict.fromkeys(fingerprints))
        with self._sessionmaker.begin() as session:
            unit = self._unit(session)
            grouping = GroupingRepository(session)
            added = [
                fp
                for fp in values
                if grouping.add_tombstone(fp, reason=reason, incident_id=incident_id, now=now)
            ]
            if added:
                unit.events.append(
                    incident_id=incident_id,
                    actor_user_id=None,
                    kind="tombstone",
                    from_status=None,
                    to_status=None,
                    payload={"fingerprints": added, "reason": reason},
                    occurred_at=now,
                )
            return len(added)


def parent_refusal(child: IncidentRecord, parent: IncidentRecord | None) -> str | None:
    """Return why ``child`` cannot become a child of ``parent`` as both are stored (None: it can).

    ``parent`` None: a parent about to be opened (it has not ended and has no parent).
    """
    for record in (child, parent):
        if record is not None and record.status in _ENDED:
            return f"incident {record.public_number} is {record.status.value}"
    if parent is not None and parent.parent_incident_id is not None:
        return f"incident {parent.public_number} is a child itself"
    return None


def _parent_event(
    child: IncidentRecord, parent: IncidentRecord, actor: Actor, now: datetime
) -> NewEvent:
    return NewEvent(
        incident_id=child.id,
        actor_user_id=actor.user_id,
        kind=PARENT_EVENT,
        from_status=None,
        to_status=None,
        payload={
            "parent": parent.id,
            "parent_number": parent.public_number,
            "previous_parent": child.parent_incident_id,
        },
        occurred_at=now,
    )


def _allowed_transition(incident: IncidentRecord, action: Action, actor: Actor) -> Transition:
    """Return the transition ``action`` makes from the incident's state, if ``actor`` may make it.

    Raises:
        TransitionNotAllowed: the state has no such transition.
        PermissionDenied: the actor's role, or its executor body, may not make it.
    """
    transition = find_transition(incident.status, action)
    if transition is None:
        raise TransitionNotAllowed(
            f"incident {incident.public_number}: cannot {action.value} from {incident.status.value}"
        )
    if actor.role not in transition.roles:
        raise PermissionDenied(
            f"a {actor.role.value} may not {action.value} an incident ({incident.status.value})"
        )
    if not can_act_on(actor, incident.executor_code):
        raise PermissionDenied(
            f"incident {incident.public_number} is not assigned to {actor.executor_code}"
        )
    return transition
