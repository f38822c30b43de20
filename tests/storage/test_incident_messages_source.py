"""Migration 0010: links carry their message's source; PostgreSQL stores the search vector."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from storage.db import create_engine_for
from storage.migrate import downgrade, upgrade
from storage.models import IncidentMessage, Message
from tests.app.test_pipeline_support import add_source, post
from tests.factories import kirov, world
from tests.web.conftest import populate

_PAIRS = sa.select(IncidentMessage.id, IncidentMessage.source_id, Message.source_id).join(
    Message, Message.id == IncidentMessage.message_id
)


def _links(url: str) -> list[tuple[int, int | None, int]]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(_PAIRS.order_by(IncidentMessage.id))]
    finally:
        engine.dispose()


def test_links_written_by_the_pipeline_carry_their_message_source(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    populate(w)
    links = _links(db_url)
    assert len(links) == 3
    for _, copied, source in links:
        assert copied == source


def test_a_link_moved_to_another_message_takes_that_message_source(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    populate(w)
    other = add_source(w.sm, owner=777)
    post(w.sm, other, "Во дворе на Советской нет освещения", w.clock() - timedelta(hours=1))
    with w.sm.begin() as session:
        moved = session.scalars(sa.select(Message.id).where(Message.source_id == other.id)).one()
        link = session.scalars(sa.select(IncidentMessage).order_by(IncidentMessage.id)).first()
        assert link is not None
        link.message_id = moved
    assert next(copied for _, copied, _ in _links(db_url)) == other.id


def test_the_migration_fills_existing_links_and_goes_back(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    populate(w)
    before = _links(db_url)
    downgrade(db_url, "0009")
    postgres = db_url.startswith("postgresql")
    assert _names(db_url) == {
        "links": False,
        "link index": False,
        "search column": False,
        "search index": False,
        "0003 search index": postgres,
    }
    upgrade(db_url)
    after = _links(db_url)
    assert after == before
    assert all(copied is not None for _, copied, _ in after)
    assert _names(db_url) == {
        "links": True,
        "link index": True,
        "search column": postgres,
        "search index": postgres,
        "0003 search index": False,
    }


def _names(url: str) -> dict[str, bool]:
    """Which of migration 0010's columns and indexes (and 0003's search index) exist."""
    engine = create_engine_for(url)
    try:
        inspector = sa.inspect(engine)
        links = {c["name"] for c in inspector.get_columns("incident_messages")}
        link_indexes = {i["name"] for i in inspector.get_indexes("incident_messages")}
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                message_indexes = set(
                    conn.exec_driver_sql(
                        "SELECT indexname FROM pg_indexes WHERE tablename = 'messages'"
                    ).scalars()
                )
            else:
                message_indexes = {i["name"] for i in inspector.get_indexes("messages")}
        messages = {c["name"] for c in inspector.get_columns("messages")}
    finally:
        engine.dispose()
    return {
        "links": "source_id" in links,
        "link index": "ix_incident_messages_source_id_incident_id" in link_indexes,
        "search column": "text_tsv" in messages,
        "search index": "ix_messages_text_tsv" in message_indexes,
        "0003 search index": "ix_messages_text_fts_ru" in message_indexes,
    }
