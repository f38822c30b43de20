"""The workspace's write side for web/: each screen action is one workflow call.

Implements ``web.contracts.Actions``. The incident is read in the viewer's scope first (an
executor asking about another executor's incident gets NotFound, as if it did not exist), then
the workflow runs with the version the page was rendered from, so a change made meanwhile by
someone else is a Conflict ("изменено другим пользователем"), never an overwrite. Nothing here
changes an incident except through app/workflow.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from app.permissions import Permission, Role, can, can_act_on
from app.queries import actor_of
from app.workflow import (
    SPLITTERS,
    InvalidRequest,
    PermissionDenied,
    ReturnKind,
    TransitionNotAllowed,
    Workflow,
)
from classifier.regions import Region
from classifier.rubricator import Rubricator
from router.calendar import CalendarError
from router.jurisdiction import RoutingSubject
from storage.enums import Resolution
from storage.models import Incident
from storage.repositories.errors import ConcurrentUpdate
from storage.repositories.errors import NotFound as RowNotFound
from storage.repositories.incidents import IncidentRecord
from storage.repositories.queue import QueueRepository
from web.contracts import (
    ActionName,
    ActionRequest,
    ActionResult,
    BulkResult,
    TemplateView,
    Viewer,
)
from web.errors import AppError, BadRequest, Conflict, Forbidden, InvalidAction, NotFound
from web.labels import status_label

__all__ = ["STALE_MESSAGE", "ActionService"]

log = logging.getLogger(__name__)

#: What a page shows when the incident changed since it was loaded.
STALE_MESSAGE = "изменено другим пользователем: обновите страницу и решите снова"

_TEMPLATE_TITLE_MAX = 200
_TEMPLATE_TEXT_MAX = 8000
_TEXT_MAX = 8000


def _required(value: str, what: str, field: str) -> str:
    text = value.strip()
    if not text:
        raise BadRequest(f"укажите {what}", field=field)
    if len(text) > _TEXT_MAX:
        raise BadRequest(f"{what}: не длиннее {_TEXT_MAX} символов", field=field)
    return text


class ActionService:
    """Screen actions over the workflow (each in a worker thread)."""

    def __init__(
        self,
        *,
        workflow: Workflow,
        sessionmaker: sessionmaker[Session],
        clock: Callable[[], datetime],
        rubricator: Rubricator | None = None,
        region: Region | None = None,
    ) -> None:
        """Take the workflow, the session factory (reads, templates), clock and reference data."""
        self._workflow = workflow
        self._sessions = sessionmaker
        self._clock = clock
        self._rubricator = rubricator
        self._region = region

    # ------------------------------------------------------------------ one incident

    def _load(self, viewer: Viewer, incident_id: int, version: int) -> IncidentRecord:
        actor = actor_of(viewer)
        try:
            record = self._workflow.get(incident_id, actor)
        except (RowNotFound, PermissionDenied):
            raise NotFound(f"инцидент {incident_id} не найден") from None
        return replace(record, version=version)

    def _incident_id(self, reference: str | None) -> int:
        text = (reference or "").strip().lstrip("№#").strip()
        if not text:
            raise BadRequest("укажите инцидент, с которым объединить", field="into")
        with self._sessions() as session:
            found = session.scalar(sa.select(Incident.id).where(Incident.public_number == text))
        if found is not None:
            return int(found)
        if text.isdigit():
            return int(text)
        raise BadRequest(f"нет инцидента {text}", field="into")

    def _classification(
        self, request: ActionRequest, record: IncidentRecord
    ) -> tuple[str | None, str | None, str | None, str | None]:
        topic = (request.topic or "").strip() or None
        group = (request.topic_group or "").strip() or None
        if topic is not None and self._rubricator is not None:
            if not self._rubricator.has_topic(topic):
                raise BadRequest(f"нет темы {topic!r} в рубрикаторе", field="topic")
            group = self._rubricator.group_of(topic)
        elif (
            group is not None
            and self._rubricator is not None
            and not self._rubricator.has_group(group)
        ):
            raise BadRequest(f"нет группы тем {group!r} в рубрикаторе", field="topic_group")
        oktmo = (request.municipality or "").strip() or None
        name: str | None = None
        if oktmo is None:
            oktmo = record.municipality_oktmo
            with self._sessions() as session:
                name = session.scalar(
                    sa.select(Incident.municipality).where(Incident.id == record.id)
                )
        elif self._region is not None:
            match = next((m for m in self._region.municipalities if m.oktmo == oktmo), None)
            if match is None:
                raise BadRequest(f"нет муниципалитета с ОКТМО {oktmo}", field="municipality")
            name = match.name
        if topic is None and group is None:
            group, topic = record.topic_group, record.topic
        return group, topic, name, oktmo

    def _do(self, viewer: Viewer, record: IncidentRecord, request: ActionRequest) -> ActionResult:
        actor = actor_of(viewer)
        wf = self._workflow
        action = request.action
        created: int | None = None
        message = ""
        if action is ActionName.CONFIRM_ROUTE:
            if actor.role not in SPLITTERS or not can_act_on(actor, record.executor_code):
                raise PermissionDenied(f"a {actor.role.value} may not route incidents")
            subject = RoutingSubject(record.topic_group, record.topic, record.municipality_oktmo)
            if self._workflow.routing.jurisdiction.route(subject, automatic=False).executor is None:
                raise InvalidRequest(
                    "ни одно правило маршрутизации не подходит: назначьте исполнителя вручную"
                )
            saved, decision = wf.route(record, subject, actor)
            message = f"направлен исполнителю {decision.executor}"
        elif action is ActionName.TRIAGE:
            saved = wf.triage(record, actor, reason=request.reason.strip())
        elif action is ActionName.RECLASSIFY:
            if actor.role not in SPLITTERS:
                raise PermissionDenied(f"a {actor.role.value} may not reclassify incidents")
            group, topic, name, oktmo = self._classification(request, record)
            saved = wf.reclassify(
                record,
                actor,
                topic_group=group,
                topic=topic,
                municipality=name,
                municipality_oktmo=oktmo,
            )
            message = "тема и муниципалитет сохранены (и записаны для обучения модели)"
        elif action is ActionName.REJECT:
            saved = wf.reject(record, actor, _required(request.reason, "причину", "reason"))
        elif action is ActionName.ASSIGN:
            executor = (request.executor or "").strip()
            if not executor:
                raise BadRequest("выберите исполнителя", field="executor")
            saved = wf.assign(record, executor, actor, reason=request.reason.strip())
            message = f"назначен исполнитель {executor}"
        elif action is ActionName.MERGE:
            saved = wf.merge(record, self._incident_id(request.into), actor)
        elif action is ActionName.SPLIT:
            if not request.message_ids:
                raise BadRequest("отметьте сообщения, которые выделить", field="message_ids")
            saved, new = wf.split(
                record,
                request.message_ids,
                actor,
                _required(request.reason, "причину", "reason"),
            )
            created = new.id
            message = f"выделен новый инцидент {new.public_number}"
        elif action is ActionName.APPROVE:
            saved = wf.approve(record, actor)
            message = "ответ одобрен"
        elif action is ActionName.REWORK:
            saved = wf.send_for_rework(
                record, actor, _required(request.reason, "что доработать", "reason")
            )
        elif action is ActionName.CLOSE:
            try:
                resolution = Resolution(request.resolution or "")
            except ValueError:
                raise BadRequest(
                    "укажите итог: fixed (решено) или answered_only (только ответ)",
                    field="resolution",
                ) from None
            saved = wf.close(record, actor, resolution)
        elif action is ActionName.ACCEPT:
            saved = wf.accept(record, actor)
        elif action is ActionName.RETURN:
            try:
                kind = ReturnKind(request.return_kind or "")
            except ValueError:
                raise BadRequest(
                    "укажите, почему возвращаете: not_ours или clarification",
                    field="return_kind",
                ) from None
            saved = wf.return_(record, actor, _required(request.reason, "причину", "reason"), kind)
        elif action is ActionName.ANSWER:
            saved = wf.answer(
                record,
                actor,
                _required(request.text, "текст ответа", "text"),
                interim=request.interim,
            )
            message = "промежуточный ответ отправлен" if request.interim else "ответ отправлен"
        elif action is ActionName.REOPEN:
            saved = wf.reopen(record, actor, _required(request.reason, "причину", "reason"))
        else:  # pragma: no cover - the enum is exhaustive
            raise BadRequest(f"неизвестное действие {action}")
        return ActionResult(
            incident_id=saved.id,
            public_number=saved.public_number,
            status=saved.status.value,
            version=saved.version,
            message=message or f"готово: {status_label(saved.status.value)}",
            created_incident_id=created,
        )

    def perform_sync(
        self, viewer: Viewer, incident_id: int, request: ActionRequest
    ) -> ActionResult:
        """Take one action on one incident, mapping workflow refusals to web errors."""
        record = self._load(viewer, incident_id, request.version)
        try:
            result = self._do(viewer, record, request)
        except ConcurrentUpdate:
            raise Conflict(STALE_MESSAGE) from None
        except PermissionDenied as err:
            raise Forbidden(str(err)) from None
        except TransitionNotAllowed as err:
            raise InvalidAction(str(err)) from None
        except InvalidRequest as err:
            raise InvalidAction(str(err)) from None
        except RowNotFound as err:
            raise BadRequest(str(err)) from None
        except CalendarError as err:  # a deadline in a year the calendar does not cover
            raise InvalidAction(f"срок не вычислить: {err}") from None
        log.info(
            "user %s: %s on incident %s -> %s",
            viewer.login,
            request.action.value,
            result.public_number,
            result.status,
        )
        return result

    async def perform(
        self, viewer: Viewer, incident_id: int, request: ActionRequest
    ) -> ActionResult:
        """Take one action on one incident."""
        return await asyncio.to_thread(self.perform_sync, viewer, incident_id, request)

    def bulk_sync(
        self, viewer: Viewer, items: Sequence[tuple[int, int]], request: ActionRequest
    ) -> BulkResult:
        """Take one action on each (incident id, version), each in its own transaction."""
        if not items:
            raise BadRequest("отметьте инциденты", field="ids")
        if request.action is ActionName.MERGE:
            target = self._incident_id(request.into)
            items = [(i, v) for i, v in items if i != target]
        done: list[ActionResult] = []
        failed: list[tuple[int, str]] = []
        for incident_id, version in items:
            try:
                done.append(
                    self.perform_sync(viewer, incident_id, replace(request, version=version))
                )
            except AppError as err:
                failed.append((incident_id, err.detail))
        return BulkResult(tuple(done), tuple(failed))

    async def bulk(
        self, viewer: Viewer, items: Sequence[tuple[int, int]], request: ActionRequest
    ) -> BulkResult:
        """Take one action on several incidents."""
        return await asyncio.to_thread(self.bulk_sync, viewer, items, request)

    # ------------------------------------------------------------------ reply templates

    def _template_owner(self, viewer: Viewer) -> str:
        actor = actor_of(viewer)
        if actor.role is not Role.EXECUTOR or not actor.executor_code:
            raise Forbidden("шаблоны ответов ведут сотрудники исполнителя")
        if not can(actor, Permission.ACT_ON_INCIDENTS, actor.executor_code):
            raise Forbidden("нет прав")
        return actor.executor_code

    def save_template_sync(
        self, viewer: Viewer, template_id: int | None, title: str, text: str
    ) -> TemplateView:
        """Add or change a reply template of the viewer's executor."""
        executor = self._template_owner(viewer)
        name = _required(title, "название шаблона", "title")[:_TEMPLATE_TITLE_MAX]
        body = text.strip()
        if not body:
            raise BadRequest("укажите текст шаблона", field="text")
        if len(body) > _TEMPLATE_TEXT_MAX:
            raise BadRequest(f"текст шаблона не длиннее {_TEMPLATE_TEXT_MAX}", field="text")
        try:
            with self._sessions.begin() as session:
                row = QueueRepository(session).save_template(
                    executor, template_id, name, body, now=self._clock()
                )
        except RowNotFound:
            raise NotFound("шаблон не найден") from None
        return TemplateView(row.id, row.title, row.text, row.updated_at)

    async def save_template(
        self, viewer: Viewer, template_id: int | None, title: str, text: str
    ) -> TemplateView:
        """Add or change a reply template."""
        return await asyncio.to_thread(self.save_template_sync, viewer, template_id, title, text)

    def delete_template_sync(self, viewer: Viewer, template_id: int) -> None:
        """Delete a reply template of the viewer's executor."""
        executor = self._template_owner(viewer)
        try:
            with self._sessions.begin() as session:
                QueueRepository(session).delete_template(executor, template_id)
        except RowNotFound:
            raise NotFound("шаблон не найден") from None

    async def delete_template(self, viewer: Viewer, template_id: int) -> None:
        """Delete a reply template."""
        await asyncio.to_thread(self.delete_template_sync, viewer, template_id)
