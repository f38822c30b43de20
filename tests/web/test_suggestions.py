"""Merges grouping suggested: shown on the incident page and in the API, accepted by merging."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from storage.models import Event, IncidentMessage
from tests.web.conftest import Desk, post_action

SUPERVISOR = "supervisor"


@pytest.fixture
async def desk(sqlite_desk: Desk) -> Desk:
    """Web layer and workflow: SQLite suffices."""
    return sqlite_desk


def _suggest(desk: Desk, incident: str, other: str) -> int:
    """Write into the incident's link the evidence grouping leaves for a suggested merge."""
    target = desk.incidents[other].id
    with desk.w.sm.begin() as s:
        link = s.scalars(
            sa.select(IncidentMessage).where(
                IncidentMessage.incident_id == desk.incidents[incident].id
            )
        ).first()
        assert link is not None
        link.evidence = {
            **dict(link.evidence or {}),
            "rule": "new-incident",
            "entity": "addr:чапаев:5",
            "entity_label": "Чапаева, 5",
            "confidence": 0.62,
            "suggested_incident_id": target,
        }
    return target


async def test_a_suggestion_is_shown_and_accepted_with_the_merge_action(desk: Desk) -> None:
    target = _suggest(desk, "water", "pothole")
    number = desk.incident("pothole").public_number
    client = await desk.client(SUPERVISOR)
    page = await (await client.get(f"/incidents/{desk.incidents['water'].id}")).text()
    assert f"возможно, то же: #{number} (общий адрес Чапаева, 5)" in page
    assert f'id="accept-suggestion-{target}"' in page
    api = await (await client.get(f"/api/v1/incidents/{desk.incidents['water'].id}")).json()
    assert api["suggestions"] == [
        {
            "incident_id": target,
            "public_number": number,
            "entity": "addr:чапаев:5",
            "shared": "общий адрес Чапаева, 5",
            "confidence": 0.62,
            "text": f"возможно, то же: #{number} (общий адрес Чапаева, 5)",
        }
    ]
    response = await post_action(client, desk.incidents["water"].id, "merge", {"into": number})
    assert response.status == 200, await response.text()
    assert desk.incident("water").status.value == "merged"
    merged = await (await client.get(f"/api/v1/incidents/{desk.incidents['water'].id}")).json()
    assert merged["suggestions"] == []  # nothing left to accept on a merged incident


async def test_a_split_between_the_two_is_remembered(desk: Desk) -> None:
    _suggest(desk, "water", "pothole")
    with desk.w.sm.begin() as s:
        s.add(
            Event(
                incident_id=desk.incidents["water"].id,
                kind="split",
                payload={"split_from": desk.incidents["pothole"].id},
                occurred_at=desk.w.clock(),
            )
        )
    client = await desk.client(SUPERVISOR)
    page = await (await client.get(f"/incidents/{desk.incidents['water'].id}")).text()
    assert "возможно, то же" not in page


async def test_a_suggestion_of_a_closed_incident_is_dropped(desk: Desk) -> None:
    _suggest(desk, "water", "pothole")
    from storage.enums import IncidentStatus
    from storage.models import Incident

    with desk.w.sm.begin() as s:
        s.execute(
            sa.update(Incident)
            .where(Incident.id == desk.incidents["pothole"].id)
            .values(status=IncidentStatus.CLOSED)
        )
    client = await desk.client(SUPERVISOR)
    api = await (await client.get(f"/api/v1/incidents/{desk.incidents['water'].id}")).json()
    assert api["suggestions"] == []
