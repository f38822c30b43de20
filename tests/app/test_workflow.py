"""Test the transition table: every allowed and every forbidden transition, on both backends."""

# The table tests share one database per backend (module scope) to stay fast: every allowed
# transition gets a fresh incident; forbidden attempts change nothing, so they reuse one incident
# per state and check that no event was written.

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.permissions import Actor, Role
from app.workflow import (
    TRANSITIONS,
    Action,
    InvalidRequest,
    PermissionDenied,
    ReturnKind,
    Transition,
    TransitionNotAllowed,
    allowed_actions,
    find_transition,
)
from storage.enums import IncidentStatus, Resolution
from storage.repositories import EventRepository, IncidentRecord
from tests.factories import World, new_incident, scratch_database, world

S = IncidentStatus

# How to reach each state from a new incident: (action, role) steps.
PATHS: dict[IncidentStatus, tuple[tuple[Action, Role], ...]] = {
    S.NEW: (),
    S.TRIAGE: ((Action.TRIAGE, Role.OPERATOR),),
    S.ASSIGNED: ((Action.ASSIGN, Role.OPERATOR),),
    S.IN_PROGRESS: ((Action.ASSIGN, Role.OPERATOR), (Action.ACCEPT, Role.EXECUTOR)),
    S.ANSWERED: (
        (Action.ASSIGN, Role.OPERATOR),
        (Action.ACCEPT, Role.EXECUTOR),
        (Action.ANSWER_FINAL, Role.EXECUTOR),
    ),
    S.REWORK: (
        (Action.ASSIGN, Role.OPERATOR),
        (Action.ACCEPT, Role.EXECUTOR),
        (Action.ANSWER_FINAL, Role.EXECUTOR),
        (Action.SEND_FOR_REWORK, Role.OPERATOR),
    ),
    S.APPROVED: (
        (Action.ASSIGN, Role.OPERATOR),
        (Action.ACCEPT, Role.EXECUTOR),
        (Action.ANSWER_FINAL, Role.EXECUTOR),
        (Action.APPROVE, Role.OPERATOR),
    ),
    S.PUBLISHED: (
        (Action.ASSIGN, Role.OPERATOR),
        (Action.ACCEPT, Role.EXECUTOR),
        (Action.ANSWER_FINAL, Role.EXECUTOR),
        (Action.APPROVE, Role.OPERATOR),
        (Action.PUBLISH, Role.SYSTEM),
    ),
    S.CLOSED: (
        (Action.ASSIGN, Role.OPERATOR),
        (Action.ACCEPT, Role.EXECUTOR),
        (Action.ANSWER_FINAL, Role.EXECUTOR),
        (Action.APPROVE, Role.OPERATOR),
        (Action.PUBLISH, Role.SYSTEM),
        (Action.CLOSE, Role.OPERATOR),
    ),
    S.RETURNED: ((Action.ASSIGN, Role.OPERATOR), (Action.RETURN, Role.EXECUTOR)),
    S.REJECTED: ((Action.REJECT, Role.OPERATOR),),
    S.MERGED: ((Action.MERGE, Role.OPERATOR),),
    S.REOPENED: (
        (Action.ASSIGN, Role.OPERATOR),
        (Action.ACCEPT, Role.EXECUTOR),
        (Action.ANSWER_FINAL, Role.EXECUTOR),
        (Action.APPROVE, Role.OPERATOR),
        (Action.PUBLISH, Role.SYSTEM),
        (Action.REOPEN, Role.SYSTEM),
    ),
}


def act(w: World, incident: IncidentRecord, action: Action, actor: Actor) -> IncidentRecord:
    """Perform an action with plausible arguments."""
    flow = w.workflow
    calls: dict[Action, Callable[[], IncidentRecord]] = {
        Action.TRIAGE: lambda: flow.triage(incident, actor, reason="needs a look"),
        Action.ASSIGN: lambda: flow.assign(
            incident,
            "mintrans" if incident.status in (S.ASSIGNED, S.IN_PROGRESS) else "minzdrav",
            actor,
        ),
        Action.ACCEPT: lambda: flow.accept(incident, actor),
        Action.ANSWER_INTERIM: lambda: flow.answer(incident, actor, "Работы в плане", interim=True),
        Action.ANSWER_FINAL: lambda: flow.answer(incident, actor, "Запись открыта с 20.10"),
        Action.APPROVE: lambda: flow.approve(incident, actor),
        Action.SEND_FOR_REWORK: lambda: flow.send_for_rework(incident, actor, "Нет сроков"),
        Action.PUBLISH: lambda: flow.publish(incident, actor, external_reply_id="-1_2_3"),
        Action.CLOSE: lambda: flow.close(incident, actor, Resolution.FIXED),
        Action.RETURN: lambda: flow.return_(incident, actor, "Не наш вопрос", ReturnKind.NOT_OURS),
        Action.REJECT: lambda: flow.reject(incident, actor, "Реклама"),
        Action.MERGE: lambda: flow.merge(incident, merge_target(w), actor),
        Action.REOPEN: lambda: flow.reopen(incident, actor, "не решено"),
    }
    return calls[action]()


_targets: dict[int, int] = {}


def merge_target(w: World) -> int:
    """An open incident to merge into (one per world)."""
    key = id(w)
    if key not in _targets:
        _targets[key] = w.workflow.open_incident(new_incident()).id
    return _targets[key]


def drive(w: World, state: IncidentStatus) -> IncidentRecord:
    """Open a new incident and take it to ``state``."""
    incident = w.workflow.open_incident(new_incident())
    for action, role in PATHS[state]:
        incident = act(w, incident, action, w.actor(role))
    assert incident.status is state
    return incident


def count_events(w: World, incident_id: int) -> int:
    """Return how many events an incident has."""
    with w.sm() as session:
        return len(EventRepository(session).for_incident(incident_id))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One world per backend for the whole module."""
    directory: Path = tmp_path_factory.mktemp("workflow")
    with scratch_database(request.param, directory) as url:
        w = world(url)
        yield w
        w.sm.kw["bind"].dispose()


@pytest.fixture(scope="module")
def by_state(shared: World) -> dict[IncidentStatus, IncidentRecord]:
    """One incident in every state (forbidden attempts leave them unchanged)."""
    return {state: drive(shared, state) for state in IncidentStatus}


def test_every_state_is_reachable_and_has_a_path() -> None:
    assert set(PATHS) == set(IncidentStatus)
    targets = {t.target for t in TRANSITIONS}
    assert targets | {S.NEW} == set(IncidentStatus)


def _label(t: Transition, role: Role) -> str:
    return f"{t.source.value}-{t.action.value}-{role.value}"


ALLOWED = [(t, role) for t in TRANSITIONS for role in sorted(t.roles)]


@pytest.mark.parametrize(("transition", "role"), ALLOWED, ids=[_label(t, r) for t, r in ALLOWED])
def test_every_allowed_transition(shared: World, transition: Transition, role: Role) -> None:
    incident = drive(shared, transition.source)
    before = count_events(shared, incident.id)
    result = act(shared, incident, transition.action, shared.actor(role))
    assert result.status is transition.target
    assert result.version > incident.version
    with shared.sm() as session:
        events = EventRepository(session).for_incident(incident.id)
    assert len(events) == before + 1
    last = events[-1]
    assert (last.kind, last.from_status, last.to_status) == (
        transition.action.value,
        transition.source.value,
        transition.target.value,
    )
    assert last.actor_user_id == shared.actor(role).user_id


MISSING = [
    (state, action)
    for state in IncidentStatus
    for action in Action
    if find_transition(state, action) is None
]


@pytest.mark.parametrize(
    ("state", "action"), MISSING, ids=[f"{s.value}-{a.value}" for s, a in MISSING]
)
def test_every_missing_transition_is_refused(
    shared: World,
    by_state: dict[IncidentStatus, IncidentRecord],
    state: IncidentStatus,
    action: Action,
) -> None:
    incident = by_state[state]
    before = count_events(shared, incident.id)
    for role in (Role.OPERATOR, Role.SYSTEM):
        with pytest.raises(TransitionNotAllowed, match=f"cannot {action.value} from {state.value}"):
            act(shared, incident, action, shared.actor(role))
    assert count_events(shared, incident.id) == before
    assert shared.workflow.get(incident.id, shared.operator) == incident


WRONG_ROLE = [(t, role) for t in TRANSITIONS for role in Role if role not in t.roles]


@pytest.mark.parametrize(
    ("transition", "role"), WRONG_ROLE, ids=[_label(t, r) for t, r in WRONG_ROLE]
)
def test_every_role_outside_the_table_is_refused(
    shared: World,
    by_state: dict[IncidentStatus, IncidentRecord],
    transition: Transition,
    role: Role,
) -> None:
    incident = by_state[transition.source]
    before = count_events(shared, incident.id)
    with pytest.raises(PermissionDenied):
        act(shared, incident, transition.action, shared.actor(role))
    assert count_events(shared, incident.id) == before


def test_executor_acts_only_on_its_own_incidents(
    shared: World, by_state: dict[IncidentStatus, IncidentRecord]
) -> None:
    assigned = by_state[S.ASSIGNED]
    assert assigned.executor_code == "minzdrav"
    with pytest.raises(PermissionDenied, match="not assigned to mintrans"):
        shared.workflow.accept(assigned, shared.mintrans)
    with pytest.raises(PermissionDenied):
        shared.workflow.get(assigned.id, shared.mintrans)
    assert shared.workflow.get(assigned.id, shared.minzdrav).id == assigned.id
    assert allowed_actions(assigned, shared.mintrans) == []
    assert allowed_actions(assigned, shared.minzdrav) == [Action.ACCEPT, Action.RETURN]
    own = {i.id for i in shared.workflow.visible(shared.minzdrav)}
    assert assigned.id in own
    assert by_state[S.TRIAGE].id not in own
    assert assigned.id not in {i.id for i in shared.workflow.visible(shared.mintrans)}


def test_operators_see_every_open_incident(
    shared: World, by_state: dict[IncidentStatus, IncidentRecord]
) -> None:
    seen = {i.id for i in shared.workflow.visible(shared.operator)}
    for state, incident in by_state.items():
        assert (incident.id in seen) is (state not in (S.CLOSED, S.REJECTED, S.MERGED))
    assert {i.id for i in shared.workflow.visible(shared.admin)} == seen


def test_reasons_and_texts_are_required(
    shared: World, by_state: dict[IncidentStatus, IncidentRecord]
) -> None:
    flow = shared.workflow
    with pytest.raises(InvalidRequest):
        flow.reject(by_state[S.TRIAGE], shared.operator, "  ")
    with pytest.raises(InvalidRequest):
        flow.return_(by_state[S.ASSIGNED], shared.minzdrav, "", ReturnKind.NOT_OURS)
    with pytest.raises(InvalidRequest):
        flow.answer(by_state[S.IN_PROGRESS], shared.minzdrav, "")
    with pytest.raises(InvalidRequest, match="itself"):
        flow.merge(by_state[S.TRIAGE], by_state[S.TRIAGE].id, shared.operator)
    with pytest.raises(InvalidRequest, match="rejected"):
        flow.merge(by_state[S.TRIAGE], by_state[S.REJECTED].id, shared.operator)


def test_closure_says_fixed_or_only_answered(shared: World) -> None:
    published = drive(shared, S.PUBLISHED)
    closed = shared.workflow.close(published, shared.operator, Resolution.ANSWERED_ONLY)
    assert closed.resolution is Resolution.ANSWERED_ONLY
    assert closed.closed_at == shared.clock()
    history = shared.workflow.history(closed.id, shared.operator)
    assert history[-1].payload["resolution"] == "answered_only"
    assert [e.kind for e in history] == [
        "create",
        "assign",
        "accept",
        "answer_final",
        "approve",
        "publish",
        "close",
    ]


def test_merge_records_the_target(shared: World) -> None:
    target = shared.workflow.open_incident(new_incident())
    merged = shared.workflow.merge(drive(shared, S.IN_PROGRESS), target.id, shared.operator)
    assert merged.merged_into_id == target.id
    assert merged.executor_code is None
    assert shared.workflow.history(merged.id, shared.operator)[-1].payload["into"] == target.id
