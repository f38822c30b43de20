"""Test that the deadlines job recomputes open deadlines when the calendar file changes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from app.notify import LoggingNotifier
from app.runtime import CalendarWatch, deadlines_job
from tests.factories import (
    World,
    kirov,
    new_incident,
    routing_reloaded,
    world,
)

PLAIN = "years: {}\n"
# An emergency non-working day declared in the region the day after the incident arrived.
EMERGENCY = (
    "years:\n  2025:\n    non_working_weekdays:\n"
    '      - {date: 2025-10-15, name: "Нерабочий день: последствия паводка"}\n'
)


def bump_mtime(path: Path) -> None:
    """Move the file's mtime on (file systems with coarse timestamps would not see a rewrite)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def deadline(w: World, incident_id: int) -> object:
    (row,) = w.workflow.clocks(incident_id).assignments
    return row.clock.deadline


def test_a_changed_calendar_file_recomputes_open_deadlines(sqlite_url: str, tmp_path: Path) -> None:
    w = world(sqlite_url, start=kirov("2025-10-14T10:00"))
    incident = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    extra = tmp_path / "regional.yaml"
    extra.write_text(PLAIN, encoding="utf-8")
    job = deadlines_job(
        w.workflow,
        LoggingNotifier(),
        calendar=CalendarWatch(extra),
        reload=lambda: routing_reloaded(extra),
    )

    asyncio.run(job())  # nothing changed: the deadline stays
    assert deadline(w, incident.id) == kirov("2025-10-15T10:00")

    # Touched, same content: not a change.
    bump_mtime(extra)
    asyncio.run(job())
    assert [e.kind for e in w.workflow.history(incident.id, w.operator)][-1] == "assign"

    extra.write_text(EMERGENCY, encoding="utf-8")
    bump_mtime(extra)
    asyncio.run(job())

    assert deadline(w, incident.id) == kirov("2025-10-16T10:00")
    # One event for the executor's clock, one for the incident's overall clock.
    executor_event, overall_event = w.workflow.history(incident.id, w.operator)[-2:]
    assert executor_event.kind == overall_event.kind == "recompute_deadline"
    assert executor_event.payload["old_deadline"] == "2025-10-15T07:00:00+00:00"
    assert overall_event.payload["old_overall_deadline"] == "2025-10-15T07:00:00+00:00"

    asyncio.run(job())  # seen already: no second recompute
    assert [e.kind for e in w.workflow.history(incident.id, w.operator)].count(
        "recompute_deadline"
    ) == 2


def test_a_broken_calendar_file_keeps_the_old_deadlines(sqlite_url: str, tmp_path: Path) -> None:
    w = world(sqlite_url, start=kirov("2025-10-14T10:00"))
    incident = w.workflow.assign(w.workflow.open_incident(new_incident()), "minzdrav", w.operator)
    extra = tmp_path / "regional.yaml"
    extra.write_text(PLAIN, encoding="utf-8")
    job = deadlines_job(
        w.workflow,
        LoggingNotifier(),
        calendar=CalendarWatch(extra),
        reload=lambda: routing_reloaded(extra),
    )
    extra.write_text("years:\n  2025:\n    non_working_weekdays: [2025-10-18]\n", encoding="utf-8")
    bump_mtime(extra)

    asyncio.run(job())  # 18 October 2025 is a Saturday: the file is refused

    assert deadline(w, incident.id) == kirov("2025-10-15T10:00")
    assert "recompute_deadline" not in [e.kind for e in w.workflow.history(incident.id, w.operator)]


def test_no_calendar_file_is_never_a_change() -> None:
    assert CalendarWatch(None).changed() is False
