"""Migration 0011: links carry their incident's state and queue order keys, kept by the database."""

from __future__ import annotations

import sqlalchemy as sa

from storage.db import create_engine_for
from storage.enums import IncidentStatus, Priority
from storage.migrate import downgrade, upgrade
from storage.models import Incident, IncidentMessage
from storage.repositories.incidents import IncidentRepository
from tests.factories import kirov, world
from tests.web.conftest import populate

_PAIRS = (
    sa.select(
        IncidentMessage.id,
        IncidentMessage.incident_status,
        Incident.status,
        IncidentMessage.incident_priority_rank,
        Incident.priority_rank,
        IncidentMessage.incident_created_at,
        Incident.created_at,
    )
    .join(Incident, Incident.id == IncidentMessage.incident_id)
    .order_by(IncidentMessage.id)
)


def _links(url: str) -> list[tuple[object, ...]]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(_PAIRS)]
    finally:
        engine.dispose()


def _assert_copies_match(links: list[tuple[object, ...]]) -> None:
    assert links
    for _, status, incident_status, rank, incident_rank, created, incident_created in links:
        assert status == incident_status
        assert rank == incident_rank
        assert created == incident_created


def test_links_written_by_the_pipeline_carry_their_incident_keys(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    populate(w)
    links = _links(db_url)
    assert len(links) == 3
    _assert_copies_match(links)
    assert {row[1] for row in links} == {"assigned", "triage"}


def test_a_change_of_state_or_priority_rewrites_the_incident_links(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    incidents = populate(w)
    water, pothole = incidents["water"].id, incidents["pothole"].id
    with w.sm() as s:
        record = IncidentRepository(s).get(water)
    w.workflow.reject(record, w.operator, "Реклама, не жалоба")
    with w.sm.begin() as session:
        row = session.get(Incident, pothole)
        assert row is not None
        row.priority = Priority.URGENT
        row.priority_rank = 3
    _assert_copies_match(_links(db_url))
    by_incident = _by_incident(db_url)
    assert by_incident[water][0] == IncidentStatus.REJECTED.value
    assert by_incident[pothole] == (IncidentStatus.ASSIGNED.value, 3)


def test_a_link_moved_to_another_incident_takes_that_incident_keys(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    incidents = populate(w)
    with w.sm.begin() as session:
        link = session.scalars(
            sa.select(IncidentMessage).where(IncidentMessage.incident_id == incidents["water"].id)
        ).one()
        link.incident_id = incidents["clinic"].id
    _assert_copies_match(_links(db_url))
    assert _by_incident(db_url)[incidents["clinic"].id][0] == "assigned"


def test_the_migration_fills_existing_links_and_goes_back(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    populate(w)
    before = _links(db_url)
    downgrade(db_url, "0010")
    assert _columns(db_url) == set()
    upgrade(db_url)
    assert _columns(db_url) == {
        "incident_status",
        "incident_priority_rank",
        "incident_created_at",
        "ix_incident_messages_source_id_priority_keys",
        "ix_incident_messages_source_id_received_keys",
    }
    after = _links(db_url)
    assert after == before
    _assert_copies_match(after)


def _by_incident(url: str) -> dict[int, tuple[str | None, int | None]]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    IncidentMessage.incident_id,
                    IncidentMessage.incident_status,
                    IncidentMessage.incident_priority_rank,
                )
            )
            return {r[0]: (r[1], r[2]) for r in rows}
    finally:
        engine.dispose()


def _columns(url: str) -> set[str]:
    """Which of migration 0011's columns and indexes exist."""
    engine = create_engine_for(url)
    try:
        inspector = sa.inspect(engine)
        names = {c["name"] for c in inspector.get_columns("incident_messages")}
        names |= {str(i["name"]) for i in inspector.get_indexes("incident_messages")}
    finally:
        engine.dispose()
    return names & {
        "incident_status",
        "incident_priority_rank",
        "incident_created_at",
        "ix_incident_messages_source_id_priority_keys",
        "ix_incident_messages_source_id_received_keys",
    }
