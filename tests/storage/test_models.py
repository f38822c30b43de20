"""Tests of storage.models on migrated SQLite and PostgreSQL databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from storage.db import create_engine_for, make_sessionmaker
from storage.enums import IncidentStatus, MessageKind, Network, UserRole
from storage.models import (
    Event,
    Incident,
    Message,
    MessageVersion,
    Source,
    User,
    message_external_id,
    metadata,
)

T0 = dt.datetime(2026, 2, 3, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    """A session on a migrated database."""
    with make_sessionmaker(engine)() as s:
        yield s


def _source(network: Network = Network.VK, external_id: str = "-100") -> Source:
    return Source(network=network, external_id=external_id, title="Подслушано Киров")


# Message has no relationship attribute: attach the source through its id after flushing.
def _add_message(session: Session, source: Source, external_id: str, network: Network) -> None:
    session.add(
        Message(
            network=network,
            source_id=source.id,
            external_id=external_id,
            kind=MessageKind.COMMENT,
            text="Когда починят?",
            posted_at=T0,
        )
    )


def _add_event(session: Session, kind: str = "incident.created") -> Event:
    incident = Incident(public_number="2026-000001", title="Нет света")
    session.add(incident)
    session.flush()
    event = Event(
        incident_id=incident.id, kind=kind, to_status="new", payload={"source": "pipeline"}
    )
    session.add(event)
    session.commit()
    return event


def test_message_external_id_encodes_owner_post_and_comment() -> None:
    assert message_external_id(-123, 456) == "-123_456"
    assert message_external_id(-123, 456, 789) == "-123_456_789"
    assert message_external_id("ok:55", "9") == "ok:55_9"


def test_message_unique_per_network_and_external_id(session: Session) -> None:
    vk = _source()
    ok = _source(Network.OK, "-100")
    session.add_all([vk, ok])
    session.flush()
    _add_message(session, vk, "-100_1_2", Network.VK)
    _add_message(session, ok, "-100_1_2", Network.OK)  # same id on another network is fine
    session.commit()
    _add_message(session, vk, "-100_1_2", Network.VK)
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 2


def test_source_unique_per_network_and_external_id(session: Session) -> None:
    session.add(_source())
    session.commit()
    session.add(_source())
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()


def test_defaults_and_json_round_trip(session: Session) -> None:
    source = _source()
    source.cursor = {"last_post_id": 42, "comment_counts": {"-100_41": 3}}
    session.add(source)
    session.commit()
    source_id = source.id
    session.expunge_all()
    loaded = session.get_one(Source, source_id)
    assert loaded.cursor == {"last_post_id": 42, "comment_counts": {"-100_41": 3}}
    assert loaded.enabled is True
    assert loaded.poll_interval_seconds == 300
    assert loaded.consecutive_failures == 0
    assert loaded.created_at.tzinfo is dt.UTC


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(MessageVersion(message_id=999_999, version_no=1, text="old", seen_at=T0))
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()


def test_enum_check_constraint_rejects_unknown_status(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("INSERT INTO incidents (public_number, status) VALUES ('A-1', 'new')"))
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(
                sa.text("INSERT INTO incidents (public_number, status) VALUES ('A-2', 'lost')")
            )


def test_executor_user_needs_an_executor(session: Session) -> None:
    session.add(User(login="ivanova", display_name="Иванова", role=UserRole.OPERATOR))
    session.commit()
    session.add(User(login="petrov", display_name="Петров", role=UserRole.EXECUTOR))
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()


def test_incident_version_guards_against_lost_updates(engine: sa.Engine) -> None:
    factory = make_sessionmaker(engine)
    with factory() as first:
        incident = Incident(public_number="2026-000007")
        first.add(incident)
        first.commit()
        assert incident.version == 1
        assert incident.status is IncidentStatus.NEW
        with factory() as second:
            other = second.get_one(Incident, incident.id)
            other.status = IncidentStatus.TRIAGE
            second.commit()
            assert other.version == 2
        incident.status = IncidentStatus.REJECTED
        with pytest.raises(StaleDataError):
            first.commit()


def test_event_log_refuses_orm_update_and_delete(session: Session) -> None:
    event = _add_event(session)
    event.kind = "tampered"
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        session.commit()
    session.rollback()
    session.delete(event)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        session.commit()
    session.rollback()
    assert session.scalars(sa.select(Event.kind)).all() == ["incident.created"]


def test_event_log_refuses_raw_update_and_delete(engine: sa.Engine) -> None:
    with make_sessionmaker(engine)() as s:
        _add_event(s)
    for verb, statement in (
        ("UPDATE", "UPDATE events SET kind = 'x'"),
        ("DELETE", "DELETE FROM events"),
    ):
        with (
            engine.connect() as conn,
            pytest.raises(sa.exc.DatabaseError, match=f"append-only: {verb} is not allowed"),
        ):
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT kind FROM events")).scalars().all() == [
            "incident.created"
        ]


def test_event_log_appends(session: Session) -> None:
    _add_event(session, "incident.created")
    session.add(Event(kind="source.disabled", payload={"source_id": 1}))
    session.commit()
    assert sorted(session.scalars(sa.select(Event.kind))) == [
        "incident.created",
        "source.disabled",
    ]


def test_postgres_event_log_refuses_truncate(postgres_url: str) -> None:
    engine = create_engine_for(postgres_url)
    try:
        metadata.create_all(engine)
        with (
            engine.connect() as conn,
            pytest.raises(sa.exc.DatabaseError, match="append-only: TRUNCATE is not allowed"),
        ):
            conn.execute(sa.text("TRUNCATE events"))
    finally:
        engine.dispose()


def test_create_all_installs_the_append_only_trigger(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        metadata.create_all(engine)
        with make_sessionmaker(engine)() as s:
            event = _add_event(s)
            s.delete(event)
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                s.commit()
        metadata.drop_all(engine)
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_naming_convention_gives_stable_constraint_names(engine: sa.Engine) -> None:
    inspector = sa.inspect(engine)
    uniques = {c["name"] for c in inspector.get_unique_constraints("messages")}
    assert "uq_messages_network_external_id" in uniques
    fks = {c["name"] for c in inspector.get_foreign_keys("messages")}
    assert fks == {"fk_messages_source_id_sources", "fk_messages_parent_message_id_messages"}
    checks = {c["name"] for c in inspector.get_check_constraints("incidents")}
    assert {"ck_incidents_incident_status", "ck_incidents_priority"} <= checks
    indexes = {i["name"] for i in inspector.get_indexes("assignments")}
    assert {"ix_assignments_deadline_at", "ix_assignments_status_deadline_at"} <= indexes
    assert inspector.get_pk_constraint("events")["name"] == "pk_events"
