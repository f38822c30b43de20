"""Every action by every role through the API: who may, who gets 403, who 404 (out of scope).

Each case brings one incident into the state its action needs, then calls the action with a
Bearer token of each role: the refused first (nothing may change: state and version stay),
the permitted one last (the state moves as the workflow says, the version goes up).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from app.workflow import SYSTEM, ReturnKind
from storage.models import IncidentMessage
from storage.repositories import IncidentRecord
from tests.web.api.conftest import Api
from web.api import OPERATIONS
from web.contracts import ActionName

#: minzdrav's employee owns the clinic incident (routed to minzdrav); trans works for mintrans.
OPERATOR, SUPERVISOR, ADMIN, OWNER, STRANGER = "operator", "supervisor", "admin", "zdrav", "trans"


def _assigned(a: Api) -> IncidentRecord:
    return a.incident("clinic")


def _in_progress(a: Api) -> IncidentRecord:
    return a.w.workflow.accept(a.incident("clinic"), a.w.minzdrav)


def _answered(a: Api) -> IncidentRecord:
    return a.w.workflow.answer(_in_progress(a), a.w.minzdrav, "Запись открыта с 15 октября.")


def _published(a: Api) -> IncidentRecord:
    approved = a.w.workflow.approve(_answered(a), a.w.operator)
    return a.w.workflow.publish(approved, SYSTEM)


def _returned(a: Api) -> IncidentRecord:
    return a.w.workflow.return_(
        _assigned(a), a.w.minzdrav, "Нужен адрес поликлиники", ReturnKind.CLARIFICATION
    )


def _triage(a: Api) -> IncidentRecord:
    return a.incident("water")


def _two_messages(a: Api) -> IncidentRecord:
    """The water incident merged into the pothole one, which then holds two messages."""
    a.w.workflow.merge(a.incident("water"), a.incidents["pothole"].id, a.w.operator)
    return a.incident("pothole")


@dataclass(frozen=True)
class Case:
    """An action, the state it needs, its body, who may take it and how the others fail."""

    action: ActionName
    prepare: Callable[[Api], IncidentRecord]
    body: dict[str, Any]
    allowed: str
    expected: str
    refused: dict[str, int]


#: Operators' actions on an incident assigned to minzdrav (its staff may see it).
OPS_ONLY = {OWNER: 403, STRANGER: 404, ADMIN: 403}
#: Operators' actions on an incident in triage (no executor sees it).
TRIAGE_OPS = {OWNER: 404, STRANGER: 404, ADMIN: 403}
#: The executor's own actions.
EXECUTOR_ONLY = {OPERATOR: 403, SUPERVISOR: 403, ADMIN: 403, STRANGER: 404}

CASES = [
    Case(ActionName.CONFIRM_ROUTE, _returned, {}, SUPERVISOR, "assigned", OPS_ONLY),
    Case(ActionName.ASSIGN, _triage, {"executor": "mintrans"}, OPERATOR, "assigned", TRIAGE_OPS),
    Case(
        ActionName.REJECT,
        _triage,
        {"reason": "Реклама сантехника"},
        OPERATOR,
        "rejected",
        TRIAGE_OPS,
    ),
    Case(
        ActionName.RECLASSIFY,
        _triage,
        {"topic": "Отсутствие горячей воды", "municipality": "33713000"},
        OPERATOR,
        "triage",
        TRIAGE_OPS,
    ),
    Case(ActionName.MERGE, _triage, {"into": "clinic"}, SUPERVISOR, "merged", TRIAGE_OPS),
    Case(
        ActionName.SPLIT,
        _two_messages,
        {"reason": "Разные адреса"},
        OPERATOR,
        "assigned",
        {STRANGER: 404, OWNER: 404, ADMIN: 403},  # the pothole is adm-slobodskoy's
    ),
    Case(ActionName.TRIAGE, _returned, {"reason": "уточнили адрес"}, OPERATOR, "triage", OPS_ONLY),
    Case(ActionName.ACCEPT, _assigned, {}, OWNER, "in_progress", EXECUTOR_ONLY),
    Case(
        ActionName.RETURN,
        _assigned,
        {"return_kind": "not_ours", "reason": "Это вопрос Минтранса"},
        OWNER,
        "returned",
        EXECUTOR_ONLY,
    ),
    Case(
        ActionName.ANSWER,
        _in_progress,
        {"text": "Запись к терапевту открыта с 15 октября, телефон 8-800-100-00-00."},
        OWNER,
        "answered",
        EXECUTOR_ONLY,
    ),
    Case(ActionName.APPROVE, _answered, {}, OPERATOR, "approved", OPS_ONLY),
    Case(ActionName.REWORK, _answered, {"reason": "Нет сроков"}, SUPERVISOR, "rework", OPS_ONLY),
    Case(ActionName.CLOSE, _published, {"resolution": "fixed"}, OPERATOR, "closed", OPS_ONLY),
    Case(ActionName.REOPEN, _published, {"reason": "не решено"}, OPERATOR, "reopened", OPS_ONLY),
]


def test_the_table_covers_every_action_the_api_offers() -> None:
    offered = {op.path.rsplit("/", 1)[1] for op in OPERATIONS if "/actions/" in op.path}
    assert offered == {a.value for a in ActionName} == {c.action.value for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.action.value for c in CASES])
async def test_every_action_by_every_role(sqlite_api: Api, case: Case) -> None:
    a = sqlite_api
    incident = case.prepare(a)
    body = dict(case.body)
    if body.get("into") == "clinic":
        body["into"] = a.incidents["clinic"].public_number
    if case.action is ActionName.SPLIT:
        with a.w.sm() as s:
            water = s.scalar(
                sa.select(IncidentMessage.message_id)
                .where(IncidentMessage.incident_id == incident.id)
                .order_by(IncidentMessage.message_id.desc())
            )
        body["message_ids"] = [water]
    path = f"/api/v1/incidents/{incident.id}/actions/{case.action.value}"
    for login, status in case.refused.items():
        client = await a.bearer(login)
        response = await client.post(path, json={"version": incident.version, **body})
        answer = await response.json()
        assert response.status == status, (login, answer)
        assert answer["status"] == status
        now = a.w.workflow.get(incident.id, a.w.operator)
        assert (now.status, now.version) == (incident.status, incident.version), login
    client = await a.bearer(case.allowed)
    response = await client.post(path, json={"version": incident.version, **body})
    answer = await response.json()
    assert response.status == 200, answer
    after = a.w.workflow.get(incident.id, a.w.operator)
    assert after.status.value == case.expected == answer["status"]
    assert after.version == answer["version"] > incident.version
    if case.action is ActionName.SPLIT:
        assert answer["created_incident_id"] not in (None, incident.id)
