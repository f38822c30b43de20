"""The queue as a Table: the first message of each incident, cut texts, and the viewer's scope."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.export_rows import QUEUE_COLUMNS, TEXT_LIMIT
from app.export_service import ExportService
from storage.enums import MessageKind, Network
from storage.models import IncidentMessage, Message
from tests.factories import World, world
from tests.web.conftest import POTHOLE, populate
from web.contracts import QueueFilter, QueueSort, Viewer
from web.errors import BadRequest, NotFound

OPERATOR = Viewer(user_id=1, login="operator", name="Оператор", role="operator")
KEYS = [c.key for c in QUEUE_COLUMNS]


@pytest.fixture
def w(db_url: str) -> World:
    return world(db_url)


def attach(w: World, incident_id: int, text: str, minutes: int, url: str) -> None:
    """Link one more message to an incident, posted ``minutes`` from now (negative: earlier)."""
    with w.sm.begin() as s:
        source_id = s.scalar(sa.select(Message.source_id).limit(1))
        assert source_id is not None
        message = Message(
            network=Network.VK,
            source_id=source_id,
            external_id=f"extra-{minutes}",
            kind=MessageKind.COMMENT,
            text=text,
            posted_at=w.clock() + timedelta(minutes=minutes),
            url=url,
        )
        s.add(message)
        s.flush()
        s.add(
            IncidentMessage(
                incident_id=incident_id, message_id=message.id, grouping_version="t", evidence={}
            )
        )


def rows(w: World, viewer: Viewer = OPERATOR, **filters: object) -> list[dict[str, object]]:
    service = ExportService(sessionmaker=w.sm, clock=w.clock, timezone="Europe/Kirov", chunk=2)
    table = service.incidents(viewer, QueueFilter(**filters))  # type: ignore[arg-type]
    return [dict(zip([c.key for c in table.columns], r, strict=True)) for r in table.rows]


def test_the_earliest_message_is_shown_and_long_texts_are_cut(w: World) -> None:
    incidents = populate(w)
    pothole = incidents["pothole"].id
    long_text = "Яма\nна\tдороге " + "очень " * 400 + "глубокая"
    attach(w, pothole, long_text, minutes=-600, url="https://vk.com/wall-1_earliest")
    attach(w, pothole, "Поддерживаю, та же беда", minutes=+5, url="https://vk.com/wall-1_later")
    found = {r["id"]: r for r in rows(w, sort=QueueSort.RECEIVED)}
    assert set(found) == {r.id for r in incidents.values()}
    text = found[pothole]["text"]
    assert isinstance(text, str)
    assert text.startswith("Яма на дороге очень ")  # whitespace collapsed
    assert len(text) == TEXT_LIMIT
    assert text.endswith("…")
    assert found[pothole]["link"] == "https://vk.com/wall-1_earliest"
    assert found[incidents["clinic"].id]["network"] == "ВКонтакте"


def test_a_text_cut_by_the_query_is_marked_even_when_collapsing_shortened_it(w: World) -> None:
    incidents = populate(w)
    clinic = incidents["clinic"].id
    attach(w, clinic, "Нет врача" + " " * 3000 + "конец", minutes=-900, url="https://vk.com/x")
    found = {r["id"]: r for r in rows(w)}
    assert found[clinic]["text"] == "Нет врача…"


def test_rows_have_every_column_and_no_page_address_without_a_public_url(w: World) -> None:
    populate(w)
    found = rows(w)
    assert list(found[0]) == KEYS[:-1]
    service = ExportService(
        sessionmaker=w.sm, clock=w.clock, timezone="Europe/Kirov", public_url="https://cur.example/"
    )
    table = service.incidents(OPERATOR, QueueFilter(text="яма"))
    (row,) = list(table.rows)
    assert [c.key for c in table.columns] == KEYS
    assert row[-1] == f"https://cur.example/incidents/{row[0]}"
    assert POTHOLE in str(row[KEYS.index("text")])


def test_an_executor_sees_only_its_own_whatever_it_asks(w: World) -> None:
    incidents = populate(w)
    zdrav = Viewer(
        user_id=5, login="zdrav", name="Минздрав", role="executor", executor_code="minzdrav"
    )
    own = {incidents["clinic"].id}
    assert {r["id"] for r in rows(w, zdrav)} == own
    for filters in ({"executor": "mintrans"}, {"text": "яма"}, {"topic_group": "Дороги"}):
        assert {r["id"] for r in rows(w, zdrav, **filters)} <= own
    nobody = Viewer(user_id=6, login="x", name="x", role="executor", executor_code=None)
    with pytest.raises(NotFound):
        rows(w, nobody)


def test_bad_filters_are_refused_before_any_row_is_read(w: World) -> None:
    service = ExportService(sessionmaker=w.sm, clock=w.clock, timezone="Europe/Kirov")
    with pytest.raises(BadRequest):
        service.incidents(OPERATOR, QueueFilter(states=("lost",)))
    with pytest.raises(BadRequest):
        service.incidents(OPERATOR, QueueFilter(network="myspace"))


def test_an_empty_database_exports_no_rows(w: World, tmp_path: Path) -> None:
    assert rows(w) == []
