"""The incident's context: the planned outage it falls under, the support its post got."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from router.notices import OutageNotice
from storage.models import IncidentMessage, Message
from storage.repositories.notices import NoticeRepository
from tests.web.api.conftest import Api


def _link_notice(api: Api, incident_id: int) -> OutageNotice:
    now = api.w.clock()
    notice = OutageNotice(
        key="vk:-100_77",
        service="вода",
        topic_group="ЖКХ",
        streets=frozenset({"ленин"}),
        starts_at=now - timedelta(hours=2),
        ends_at=now + timedelta(hours=6),
        text="Уважаемые жители! Сегодня с 9:00 до 18:00 отключение воды по ул. Ленина",
    )
    with api.w.sm.begin() as s:
        repo = NoticeRepository(s)
        repo.save(notice)
        assert repo.link(incident_id, notice.key)
        assert repo.link(incident_id, notice.key)  # twice: one link
    return notice


async def test_the_incident_names_its_planned_outage(api: Api) -> None:
    water = api.incidents["water"]
    clinic = api.incidents["clinic"]
    notice = _link_notice(api, water.id)
    client = await api.bearer("operator")
    detail = await (await client.get(f"/api/v1/incidents/{water.id}")).json()
    (shown,) = detail["notices"]
    assert shown["label"] == "плановое отключение: вода"
    assert shown["message_key"] == notice.key
    assert shown["text"].startswith("Уважаемые жители!")
    other = await (await client.get(f"/api/v1/incidents/{clinic.id}")).json()
    assert other["notices"] == []
    page_client = await api.bearer("operator")
    page = await (await page_client.get(f"/incidents/{water.id}")).text()
    assert "Плановые отключения" in page
    assert "плановое отключение: вода" in page


def _support(api: Api, incident_id: int, count: int) -> None:
    """Link ``count`` messages to the incident as the pipeline links support."""
    with api.w.sm.begin() as s:
        ids = s.scalars(sa.select(Message.id).order_by(Message.id)).all()
        linked = set(
            s.scalars(
                sa.select(IncidentMessage.message_id).where(
                    IncidentMessage.incident_id == incident_id
                )
            )
        )
        free = [i for i in ids if i not in linked][:count]
        assert len(free) == count
        for message_id in free:
            s.add(
                IncidentMessage(
                    incident_id=incident_id,
                    message_id=message_id,
                    grouping_version="test",
                    evidence={"note": f"support (reaction) for incident {incident_id}"},
                )
            )


async def test_the_incident_shows_its_support(api: Api) -> None:
    water = api.incidents["water"]
    _support(api, water.id, 2)
    client = await api.bearer("operator")
    detail = await (await client.get(f"/api/v1/incidents/{water.id}")).json()
    assert detail["supported"] == 2
    clinic = await (await client.get(f"/api/v1/incidents/{api.incidents['clinic'].id}")).json()
    assert clinic["supported"] == 0
    page = await (await client.get(f"/incidents/{water.id}")).text()
    assert "поддержали: 2" in page
