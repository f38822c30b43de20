"""Compare what two ``process`` runs wrote: incidents, links, assignments, each incident's events.

Run: ``.venv/bin/python bench/compare_outcome.py URL_A URL_B`` over two databases that
bench_process.py filled from the same backlog (``--database``), for example one with main's
code and one with a branch's. Incidents are matched by their public number (their ids may
differ: ids reserved and not used are gaps on PostgreSQL); ids, times and durations inside
the rows and events are left out or replaced by public numbers. Each incident's events are
compared in their order; the order of events across incidents is not compared. Prints what
differs, and exits 1 when anything does.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
#: Payload keys holding ids of rows (replaced by nothing) or of incidents (by public numbers).
_ROW_IDS = {"assignment_id", "message_id", "event_id"}
_INCIDENT_IDS = {
    "parent",
    "parent_incident_id",
    "incident_id",
    "related_incident_id",
    "into",
    "parent_id",
    "previous_parent",
}


def _clean(value: Any, numbers: dict[Any, str], key: str = "") -> Any:
    if isinstance(value, dict):
        return {
            k: _clean(v, numbers, k)
            for k, v in sorted(value.items())
            if k not in _ROW_IDS and k != "clocks"
        }
    if isinstance(value, list):
        return [_clean(v, numbers, key) for v in value]
    if isinstance(value, str) and value in numbers:
        return numbers[value]  # a public number
    if isinstance(value, str) and _TIME.match(value):
        return "<time>"
    if key in _INCIDENT_IDS and isinstance(value, int):
        return numbers.get(value, f"<incident {value}?>")
    if key == "note" and isinstance(value, str):
        # Evidence notes name incidents by id («the same problem as incident 12», «#26»).
        return re.sub(
            r"(incident |#)(\d+)",
            lambda m: m.group(1) + numbers.get(int(m.group(2)), "?"),
            value,
        )
    return value


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    """Return where two outcomes first differ, and the two values there."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{k}]")
    shown = [json.dumps(v, ensure_ascii=False)[:300] for v in (a, b)]
    return f"{path or '.'}: {shown[0]} != {shown[1]}"


def outcome(url: str) -> dict[str, Any]:
    """Return the normalised outcome stored in the database at ``url``."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as c:
        rows = list(
            c.execute(
                sa.text(
                    "SELECT id, public_number, status, title, topic_group, topic,"
                    " municipality_oktmo, priority, message_count, author_count, reach,"
                    " parent_incident_id FROM incidents"
                )
            )
        )
        numbers: dict[Any, str] = {int(r.id): str(r.public_number) for r in rows}
        # A parent's number holds its opening time and an id: named by its first child instead.
        children: dict[int, list[str]] = {}
        for r in rows:
            if r.parent_incident_id is not None:
                children.setdefault(int(r.parent_incident_id), []).append(numbers[int(r.id)])
        for r in rows:
            if "-M" not in numbers[int(r.id)]:
                first = min(children.get(int(r.id), ["?"]))
                numbers[int(r.id)] = f"parent of {first}: {r.title}"
        numbers.update({str(r.public_number): numbers[int(r.id)] for r in rows})
        incidents: dict[str, dict[str, Any]] = {}
        by_id: dict[int, dict[str, Any]] = {}
        for row in rows:
            parent = row.parent_incident_id
            incident: dict[str, Any] = {
                "status": row.status,
                "title": row.title,
                "topic": [row.topic_group, row.topic, row.municipality_oktmo],
                "counters": [row.priority, row.message_count, row.author_count, row.reach],
                "parent": numbers.get(int(parent)) if parent is not None else None,
                "links": [],
                "assignments": [],
                "events": [],
            }
            incidents[numbers[int(row.id)]] = by_id[int(row.id)] = incident
        for row in c.execute(
            sa.text(
                "SELECT l.incident_id, m.external_id, l.grouping_version, l.evidence"
                " FROM incident_messages l JOIN messages m ON m.id = l.message_id ORDER BY l.id"
            )
        ):
            evidence = row.evidence if isinstance(row.evidence, dict) else json.loads(row.evidence)
            by_id[row.incident_id]["links"].append(
                [row.external_id, row.grouping_version, _clean(evidence, numbers)]
            )
        for row in c.execute(
            sa.text(
                "SELECT a.incident_id, e.code, a.status, a.rule_id, a.sla_budget_minutes"
                " FROM assignments a JOIN executors e ON e.id = a.executor_id ORDER BY a.id"
            )
        ):
            by_id[row.incident_id]["assignments"].append(list(row[1:]))
        for row in c.execute(
            sa.text(
                "SELECT incident_id, kind, from_status, to_status, payload FROM events"
                " WHERE incident_id IS NOT NULL ORDER BY id"
            )
        ):
            payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
            by_id[row.incident_id]["events"].append(
                [row.kind, row.from_status, row.to_status, _clean(payload, numbers)]
            )
    engine.dispose()
    return incidents


def main(argv: list[str] | None = None) -> int:
    """Print the differences between the outcomes at two URLs."""
    first_url, second_url = (argv if argv is not None else sys.argv[1:])[:2]
    first, second = outcome(first_url), outcome(second_url)
    differ = 0
    for number in sorted(first.keys() | second.keys()):
        a, b = first.get(number), second.get(number)
        if a != b:
            differ += 1
            if differ <= 5:
                print(f"incident {number}: {_first_difference(a, b)}")
    events = sum(len(i["events"]) for i in first.values())
    links = sum(len(i["links"]) for i in first.values())
    print(
        f"{len(first)} / {len(second)} incidents, {links} links, {events} events in the first; "
        f"{differ} incidents differ"
    )
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
