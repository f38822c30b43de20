"""Every screen action by every role, through the pages: who may, who gets 403, who 404.

Each test brings one incident into the state its action needs, then tries the action as
each role: the refused roles first (nothing may change), the permitted one last (the state
moves as the workflow says).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from app.workflow import SYSTEM, ReturnKind
from storage.enums import LabelField
from storage.models import ResponseTemplate, TrainingLabel
from storage.repositories import IncidentRecord
from tests.factories import new_incident
from tests.web.conftest import Desk, csrf_of, post_action


@pytest.fixture
async def desk(sqlite_desk: Desk) -> Desk:
    """These tests exercise the web layer and the workflow, not SQL: SQLite suffices (the
    queue's SQL runs on both backends in test_queue.py)."""
    return sqlite_desk


#: Logins of the test world: minzdrav's employee owns the clinic incident, trans does not.
OPERATOR, SUPERVISOR, ADMIN, OWNER, STRANGER = "operator", "supervisor", "admin", "zdrav", "trans"


def _assigned(d: Desk) -> IncidentRecord:
    return d.incident("clinic")


def _in_progress(d: Desk) -> IncidentRecord:
    return d.w.workflow.accept(d.incident("clinic"), d.w.minzdrav)


def _answered(d: Desk) -> IncidentRecord:
    return d.w.workflow.answer(_in_progress(d), d.w.minzdrav, "Запись открыта с 15 октября.")


def _published(d: Desk) -> IncidentRecord:
    approved = d.w.workflow.approve(_answered(d), d.w.operator)
    return d.w.workflow.publish(approved, SYSTEM)


def _returned(d: Desk) -> IncidentRecord:
    return d.w.workflow.return_(
        _assigned(d), d.w.minzdrav, "Нужен адрес поликлиники", ReturnKind.CLARIFICATION
    )


def _triage(d: Desk) -> IncidentRecord:
    return d.incident("water")


@dataclass(frozen=True)
class Case:
    """An action, the state it needs, its form, and who may take it."""

    action: str
    prepare: Callable[[Desk], IncidentRecord]
    form: dict[str, str]
    allowed: str  # the login that succeeds
    expected: str  # the incident's state afterwards
    refused: dict[str, int]  # login -> HTTP status


OPS_ONLY = {OWNER: 403, STRANGER: 404, ADMIN: 403}
TRIAGE_OPS = {OWNER: 404, STRANGER: 404, ADMIN: 403}
EXECUTOR_ONLY = {OPERATOR: 403, SUPERVISOR: 403, ADMIN: 403, STRANGER: 404}

CASES = [
    Case("confirm_route", _returned, {}, SUPERVISOR, "assigned", OPS_ONLY),
    Case("assign", _triage, {"executor": "mintrans"}, OPERATOR, "assigned", TRIAGE_OPS),
    Case("reject", _triage, {"reason": "Реклама сантехника"}, OPERATOR, "rejected", TRIAGE_OPS),
    Case(
        "reclassify",
        _triage,
        {"topic": "Отсутствие горячей воды", "municipality": "33713000"},
        OPERATOR,
        "triage",
        TRIAGE_OPS,
    ),
    Case("merge", _triage, {"into": "clinic"}, SUPERVISOR, "merged", TRIAGE_OPS),
    Case("triage", _returned, {"reason": "уточнили"}, OPERATOR, "triage", OPS_ONLY),
    Case("accept", _assigned, {}, OWNER, "in_progress", EXECUTOR_ONLY),
    Case(
        "return",
        _assigned,
        {"return_kind": "not_ours", "reason": "Это вопрос Минтранса"},
        OWNER,
        "returned",
        EXECUTOR_ONLY,
    ),
    Case(
        "answer",
        _in_progress,
        {"text": "Запись к терапевту открыта с 15 октября, телефон 8-800."},
        OWNER,
        "answered",
        EXECUTOR_ONLY,
    ),
    Case("approve", _answered, {}, OPERATOR, "approved", OPS_ONLY),
    Case("rework", _answered, {"reason": "Нет сроков"}, SUPERVISOR, "rework", OPS_ONLY),
    Case("close", _published, {"resolution": "fixed"}, OPERATOR, "closed", OPS_ONLY),
    Case("reopen", _published, {"reason": "не решено"}, OPERATOR, "reopened", OPS_ONLY),
]


@pytest.mark.parametrize("case", CASES, ids=[c.action for c in CASES])
async def test_every_action_by_every_role(desk: Desk, case: Case) -> None:
    incident = case.prepare(desk)
    form = dict(case.form)
    if form.get("into") == "clinic":
        form["into"] = desk.incidents["clinic"].public_number
    clients = {}
    for login in (*case.refused, case.allowed):
        clients[login] = await desk.client(login)
    for login, status in case.refused.items():
        response = await post_action(
            clients[login], incident.id, case.action, form, version=incident.version
        )
        assert response.status == status, (login, await response.text())
        now = desk.w.workflow.get(incident.id, desk.w.operator)
        assert (now.status, now.version) == (incident.status, incident.version), login
    response = await post_action(
        clients[case.allowed], incident.id, case.action, form, version=incident.version
    )
    assert response.status == 200, await response.text()
    assert "Выполнено" in await response.text()
    after = desk.w.workflow.get(incident.id, desk.w.operator)
    assert after.status.value == case.expected
    assert after.version > incident.version


async def test_an_action_the_state_does_not_allow_is_422_and_changes_nothing(desk: Desk) -> None:
    client = await desk.client(OWNER)
    clinic = desk.incident("clinic")
    response = await post_action(client, clinic.id, "answer", {"text": "Ответ"})
    assert response.status == 422
    assert "Действие невозможно" in await response.text()
    assert desk.incident("clinic").status.value == "assigned"


async def test_confirm_route_without_a_matching_rule_says_so(desk: Desk) -> None:
    client = await desk.client(OPERATOR)
    water = desk.incident("water")  # ЖКХ: no rule in the test routing
    response = await post_action(client, water.id, "confirm_route")
    assert response.status == 422
    assert "назначьте исполнителя вручную" in await response.text()
    assert desk.incident("water").version == water.version


async def test_missing_fields_are_named_and_the_typed_text_is_kept(desk: Desk) -> None:
    client = await desk.client(OPERATOR)
    water = desk.incident("water")
    response = await post_action(client, water.id, "reject", {"reason": "  "})
    assert response.status == 400
    assert "укажите причину" in await response.text()
    client = await desk.client(OWNER)
    clinic = _in_progress(desk)
    long_text = "Ответ: " + "очень подробно " * 600
    response = await post_action(client, clinic.id, "answer", {"text": long_text})
    assert response.status == 400
    assert "не длиннее" in await response.text()
    assert "очень подробно очень подробно" in await response.text()  # kept in the form


async def test_reclassify_stores_training_labels(desk: Desk) -> None:
    client = await desk.client(OPERATOR)
    water = desk.incident("water")
    response = await post_action(
        client,
        water.id,
        "reclassify",
        {"topic": "Отсутствие холодной воды", "municipality": "33713000"},
    )
    assert response.status == 200, await response.text()
    after = desk.incident("water")
    assert (after.topic_group, after.topic, after.municipality_oktmo) == (
        "ЖКХ",
        "Отсутствие холодной воды",
        "33713000",
    )
    with desk.w.sm() as session:
        labels = session.execute(
            sa.select(TrainingLabel.field, TrainingLabel.value, TrainingLabel.text)
        ).all()
    assert {(f, v) for f, v, _ in labels} == {
        (LabelField.TOPIC, "Отсутствие холодной воды"),
        (LabelField.MUNICIPALITY, "33713000"),
    }
    assert all("нет воды" in text for _, _, text in labels)
    bad = await post_action(client, water.id, "reclassify", {"topic": "Нет такой темы"})
    assert bad.status == 400


async def test_bulk_assign_and_reject_from_the_queue(desk: Desk) -> None:
    water = desk.incident("water")
    second = desk.w.workflow.open_incident(new_incident("ЖКХ"))
    second = desk.w.workflow.triage(second, desk.w.operator)
    client = await desk.client(OPERATOR)
    page = await (await client.get("/queue?state=triage")).text()
    form = {
        "csrf": csrf_of(page),
        "action": "assign",
        "executor": "mintrans",
        "id": [str(water.id), str(second.id)],
        f"v{water.id}": str(water.version),
        f"v{second.id}": str(second.version),
    }
    data = [(k, v) for k, vs in form.items() for v in (vs if isinstance(vs, list) else [vs])]
    response = await client.post("/queue/bulk", data=data)
    assert response.status == 200
    assert "Выполнено для 2" in await response.text()
    assert desk.incident("water").status.value == "assigned"
    # A stale row in a bulk action is reported, the others still done.
    page = await (await client.get("/queue?state=assigned")).text()
    clinic = desk.incident("clinic")
    stale = [
        ("csrf", csrf_of(page)),
        ("action", "reject"),
        ("reason", "спам"),
        ("id", str(clinic.id)),
        (f"v{clinic.id}", str(clinic.version - 1 or 99)),
    ]
    response = await client.post("/queue/bulk", data=stale)
    text = await response.text()
    assert "Не удалось" in text
    assert "изменено другим пользователем" in text
    # An executor has no bulk actions.
    executor = await desk.client(STRANGER)
    page = await (await executor.get("/queue")).text()
    assert 'id="bulk-action"' not in page


async def test_reply_templates_belong_to_one_executor(desk: Desk) -> None:
    owner = await desk.client(OWNER)
    page = await (await owner.get("/templates")).text()
    response = await owner.post(
        "/templates",
        data={
            "csrf": csrf_of(page),
            "title": "Запись к врачу",
            "text": "Здравствуйте! Запись открыта, звоните 122.",
        },
    )
    assert response.status == 200
    assert "Запись открыта, звоните 122." in await response.text()
    with desk.w.sm() as session:
        template_id = session.scalars(sa.select(ResponseTemplate.id)).one()
    # The owner sees it on the answer form.
    clinic = _in_progress(desk)
    page = await (await owner.get(f"/incidents/{clinic.id}")).text()
    assert "template-picker" in page
    assert "звоните 122" in page
    # Another executor's staff and operators can neither see nor change it.
    stranger = await desk.client(STRANGER)
    page = await (await stranger.get("/templates")).text()
    assert "звоните 122" not in page
    response = await stranger.post(
        "/templates",
        data={"csrf": csrf_of(page), "id": str(template_id), "title": "x", "text": "взлом"},
    )
    assert response.status == 404
    response = await stranger.post(f"/templates/{template_id}/delete", data={"csrf": csrf_of(page)})
    assert response.status == 404
    operator = await desk.client(OPERATOR)
    page = await (await operator.get("/queue")).text()
    response = await operator.post(
        "/templates", data={"csrf": csrf_of(page), "title": "x", "text": "y"}
    )
    assert response.status == 403
    with desk.w.sm() as session:
        assert session.scalars(sa.select(ResponseTemplate.text)).one().endswith("звоните 122.")


async def test_split_from_the_page_opens_a_new_routed_incident(desk: Desk) -> None:
    from tests.app.test_pipeline_support import add_source, post
    from tests.web.conftest import CLINIC

    source = add_source(desk.w.sm, owner=170002)
    post(
        desk.w.sm,
        source,
        "Поликлиника Слободского: к терапевту не записаться уже месяц",
        desk.w.clock(),
        author=21,
        owner=170002,
    )
    from app.pipeline import Pipeline
    from tests.app.test_pipeline_support import LEMMATIZER, KeywordClassifier

    Pipeline(
        sessionmaker=desk.w.sm,
        workflow=desk.w.workflow,
        classifier=KeywordClassifier(),
        lemmatizer=LEMMATIZER,
        clock=desk.w.clock,
    ).run_once()
    clinic = desk.incident("clinic")
    client = await desk.client(OPERATOR)
    page = await (await client.get(f"/incidents/{clinic.id}")).text()
    assert "Сообщения (2)" in page
    assert CLINIC[:30] in page
    message_ids = [int(x) for x in re.findall(r'name="message_id" value="(\d+)"', page)]
    assert len(message_ids) == 2
    response = await post_action(
        client,
        clinic.id,
        "split",
        {"message_id": str(message_ids[-1]), "reason": "Другая жалоба про ту же поликлинику"},
    )
    assert response.status == 200, await response.text()
    assert "Выполнено: Выделить сообщения" in await response.text()
    assert f"/incidents/{clinic.id}" not in str(response.url)
    page = await (await client.get(f"/incidents/{clinic.id}")).text()
    assert "Сообщения (1)" in page


async def test_secrets_never_reach_the_logs(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from tests.web.conftest import PASSWORD, SECRET, login_as

    caplog.set_level(logging.DEBUG)
    client = await desk.client()
    assert (await login_as(client, "operator", PASSWORD + "x")).status == 401
    assert (await login_as(client, "operator")).status == 200
    clinic = desk.incident("clinic")
    await post_action(client, clinic.id, "reject", {"reason": "спам"})
    token = desk.workspace.accounts.new_token("operator")  # type: ignore[attr-defined]
    await desk.workspace.accounts.by_token(token)
    assert "signed in" in caplog.text
    for secret in (PASSWORD, SECRET, token):
        assert secret not in caplog.text
