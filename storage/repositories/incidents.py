"""Incidents: create, read, and save a workflow state change under optimistic locking."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from storage.enums import AssignmentStatus, IncidentStatus, Priority, Resolution
from storage.models import PRIORITY_RANK, Assignment, Executor, Incident
from storage.repositories.errors import ConcurrentUpdate, NotFound

__all__ = [
    "ACTIVE_ASSIGNMENT",
    "IncidentRecord",
    "IncidentRepository",
    "NewIncident",
    "OpenedIncident",
    "new_record",
]

#: Assignment statuses of the executor currently responsible for an incident.
ACTIVE_ASSIGNMENT: tuple[AssignmentStatus, ...] = (
    AssignmentStatus.ASSIGNED,
    AssignmentStatus.RECEIVED,
    AssignmentStatus.PAUSED,
    AssignmentStatus.ANSWERED,
)


@dataclass(frozen=True, slots=True)
class NewIncident:
    """What an incident starts with."""

    public_number: str
    title: str = ""
    summary: str = ""
    topic_group: str | None = None
    topic: str | None = None
    municipality: str | None = None
    municipality_oktmo: str | None = None
    priority: Priority = Priority.NORMAL


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """An incident as the workflow and the screens see it.

    ``version`` is the optimistic-locking counter: pass the record back to the workflow and a
    change made meanwhile by someone else raises ConcurrentUpdate. ``executor_code`` is the
    executor of the active assignment, if any.
    """

    id: int
    public_number: str
    status: IncidentStatus
    version: int
    title: str
    topic_group: str | None
    topic: str | None
    municipality_oktmo: str | None
    priority: Priority
    resolution: Resolution | None
    merged_into_id: int | None
    closed_at: dt.datetime | None
    created_at: dt.datetime
    executor_code: str | None
    parent_incident_id: int | None = None


_TABLE = cast("sa.Table", Incident.__table__)
#: The columns of an IncidentRecord, in _from_row's order (read and returned by Core statements).
_RECORD_COLUMNS = tuple(
    _TABLE.c[name]
    for name in (
        "id",
        "public_number",
        "status",
        "version",
        "title",
        "topic_group",
        "topic",
        "municipality_oktmo",
        "priority",
        "resolution",
        "merged_into_id",
        "closed_at",
        "created_at",
        "parent_incident_id",
    )
)


def _from_row(row: Sequence[Any], executor_code: str | None) -> IncidentRecord:
    return IncidentRecord(
        id=row[0],
        public_number=row[1],
        status=row[2],
        version=row[3],
        title=row[4],
        topic_group=row[5],
        topic=row[6],
        municipality_oktmo=row[7],
        priority=row[8],
        resolution=row[9],
        merged_into_id=row[10],
        closed_at=row[11],
        created_at=row[12],
        executor_code=executor_code,
        parent_incident_id=row[13],
    )


_EXECUTORS = cast("sa.Table", Executor.__table__)
_ASSIGNMENTS = cast("sa.Table", Assignment.__table__)


def _active_code(incident_id: sa.ColumnElement[int]) -> sa.ScalarSelect[str]:
    """The code of an incident's active executor (the newest active assignment's)."""
    return (
        sa.select(_EXECUTORS.c.code)
        .join(_ASSIGNMENTS, _ASSIGNMENTS.c.executor_id == _EXECUTORS.c.id)
        .where(
            _ASSIGNMENTS.c.incident_id == incident_id,
            _ASSIGNMENTS.c.status.in_(ACTIVE_ASSIGNMENT),
        )
        .order_by(_ASSIGNMENTS.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


# Built once, run with parameters: the hot paths of the pipeline's batches (building a statement
# with literal values each time costs more than running it on SQLite). Core statements on the
# tables: an ORM-enabled statement costs about three times as much CPU for one row; the session
# is flushed first where the ORM's autoflush would have been.
_GET = sa.select(*_RECORD_COLUMNS, _active_code(_TABLE.c.id)).where(
    _TABLE.c.id == sa.bindparam("b_id")
)
_EXECUTOR_CODE = sa.select(_active_code(sa.bindparam("b_id")))
_CREATE = sa.insert(_TABLE).returning(_TABLE.c.id)
_SAVE_STATE = (
    sa.update(_TABLE)
    .where(_TABLE.c.id == sa.bindparam("b_id"), _TABLE.c.version == sa.bindparam("b_expected"))
    .values(
        status=sa.bindparam("b_status"),
        resolution=sa.bindparam("b_resolution"),
        merged_into_id=sa.bindparam("b_merged_into_id"),
        closed_at=sa.bindparam("b_closed_at"),
        updated_at=sa.bindparam("b_now"),
        version=sa.bindparam("b_version"),
    )
    .returning(*_RECORD_COLUMNS)
)


_CREATE_MANY = sa.insert(_TABLE)
_SET_PARENT = (
    sa.update(_TABLE)
    .where(_TABLE.c.id == sa.bindparam("b_id"))
    .values(parent_incident_id=sa.bindparam("b_parent"))
)
_LAST_ID = sa.select(sa.func.max(_TABLE.c.id))
_RESERVE_POSTGRES = sa.text(
    "SELECT nextval(pg_get_serial_sequence('incidents', 'id')) "
    "FROM generate_series(1, :b_count) ORDER BY 1"
)


@dataclass(frozen=True, slots=True)
class OpenedIncident:
    """An incident to insert under a reserved id, with its first message already counted."""

    id: int
    new: NewIncident
    opened_at: dt.datetime
    message_count: int = 0
    author_count: int = 0
    reach: int = 0


def _new_row(
    new: NewIncident, now: dt.datetime, message_count: int, author_count: int, reach: int
) -> dict[str, Any]:
    return {
        "public_number": new.public_number,
        "title": new.title,
        "summary": new.summary,
        "topic_group": new.topic_group,
        "topic": new.topic,
        "municipality": new.municipality,
        "municipality_oktmo": new.municipality_oktmo,
        "priority": new.priority,
        "priority_rank": PRIORITY_RANK[new.priority],
        "message_count": message_count,
        "author_count": author_count,
        "reach": reach,
        "status": IncidentStatus.NEW,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def new_record(incident_id: int, new: NewIncident, now: dt.datetime) -> IncidentRecord:
    """Return the record of an incident just opened as ``new`` at ``now`` under ``incident_id``."""
    return IncidentRecord(
        id=incident_id,
        public_number=new.public_number,
        status=IncidentStatus.NEW,
        version=1,
        title=new.title,
        topic_group=new.topic_group,
        topic=new.topic,
        municipality_oktmo=new.municipality_oktmo,
        priority=new.priority,
        resolution=None,
        merged_into_id=None,
        closed_at=None,
        created_at=now,
        executor_code=None,
    )


class IncidentRepository:
    """Incidents within one session (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def _executor_code(self, incident_id: int) -> str | None:
        return self._session.scalar(_EXECUTOR_CODE, {"b_id": incident_id})

    def _executor_codes(self, incident_ids: Sequence[int]) -> dict[int, str]:
        """Return the active executor's code of each incident, in one query."""
        if not incident_ids:
            return {}
        query = (
            sa.select(Assignment.incident_id, Executor.code)
            .join(Executor, Assignment.executor_id == Executor.id)
            .where(
                Assignment.incident_id.in_(incident_ids),
                Assignment.status.in_(ACTIVE_ASSIGNMENT),
            )
            .order_by(Assignment.id)
        )
        return {incident_id: code for incident_id, code in self._session.execute(query)}

    def _records(self, rows: Sequence[Incident]) -> list[IncidentRecord]:
        codes = self._executor_codes([row.id for row in rows])
        return [self._record(row, codes.get(row.id)) for row in rows]

    def _record(self, row: Incident, executor_code: str | None) -> IncidentRecord:
        return IncidentRecord(
            id=row.id,
            public_number=row.public_number,
            status=row.status,
            version=row.version,
            title=row.title,
            topic_group=row.topic_group,
            topic=row.topic,
            municipality_oktmo=row.municipality_oktmo,
            priority=row.priority,
            resolution=row.resolution,
            merged_into_id=row.merged_into_id,
            closed_at=row.closed_at,
            created_at=row.created_at,
            executor_code=executor_code,
            parent_incident_id=row.parent_incident_id,
        )

    def create(
        self,
        new: NewIncident,
        *,
        now: dt.datetime,
        message_count: int = 0,
        author_count: int = 0,
        reach: int = 0,
    ) -> IncidentRecord:
        """Insert an incident in state ``new`` and return it (one INSERT … RETURNING).

        The counters may be given when the incident is opened with its first message already
        counted (the pipeline). A new incident has no assignment, so no executor is looked up.
        """
        self._session.flush()
        row = self._session.execute(
            _CREATE, _new_row(new, now, message_count, author_count, reach)
        ).one()
        return new_record(int(row[0]), new, now)

    def reserve_ids(self, count: int, *, after: int = 0) -> list[int]:
        """Return ``count`` ids no incident has, for :meth:`create_many` (one query).

        PostgreSQL: values of the table's sequence, never handed out twice (several daemons
        may reserve at once; an id reserved and not used is a gap, as after a rollback).
        SQLite: the ids after the largest stored. They are free only until something else
        inserts an incident: the caller reserves them in its write transaction (``BEGIN
        IMMEDIATE`` holds the database's write lock), inserts them before opening any
        incident another way, and reserves again afterwards. ``after``: the largest id it
        reserved before and has not inserted yet (SQLite: the new ids come after it too).
        """
        if count <= 0:
            return []
        if self._session.get_bind().dialect.name == "postgresql":
            rows = self._session.execute(_RESERVE_POSTGRES, {"b_count": count}).scalars()
            return [int(value) for value in rows]
        self._session.flush()
        last = max(int(self._session.scalar(_LAST_ID) or 0), after)
        return list(range(last + 1, last + 1 + count))

    def reserved_ids_stay_free(self) -> bool:
        """Tell whether ids reserved stay free when other incidents are inserted meanwhile.

        True on PostgreSQL (every insert takes its id from the same sequence); False on
        SQLite, where an incident inserted without an id takes the one after the largest.
        """
        return self._session.get_bind().dialect.name == "postgresql"

    def create_many(self, incidents: Sequence[OpenedIncident]) -> None:
        """Insert many incidents in state ``new`` under reserved ids: one executemany.

        The record each makes is :func:`new_record` of its values (the caller built it before
        the insert).
        """
        if not incidents:
            return
        self._session.flush()
        rows = []
        for opened in incidents:
            row = _new_row(
                opened.new,
                opened.opened_at,
                opened.message_count,
                opened.author_count,
                opened.reach,
            )
            row["id"] = opened.id
            rows.append(row)
        # An executemany of one built statement: a multi-row VALUES is compiled anew for each
        # number of rows, which costs more CPU than the insert itself.
        self._session.execute(_CREATE_MANY, rows)

    def get(self, incident_id: int) -> IncidentRecord:
        """Return the incident; NotFound if there is none."""
        self._session.flush()
        row = self._session.execute(_GET, {"b_id": incident_id}).one_or_none()
        if row is None:
            raise NotFound(f"no incident with id {incident_id}")
        return _from_row(row, row[-1])

    def get_many(self, incident_ids: Sequence[int]) -> dict[int, IncidentRecord]:
        """Return the incidents with these ids, by id (one query); NotFound if one is missing."""
        wanted = set(incident_ids)
        if not wanted:
            return {}
        self._session.flush()
        rows = self._session.execute(
            sa.select(*_RECORD_COLUMNS, _active_code(_TABLE.c.id)).where(
                _TABLE.c.id.in_(sorted(wanted))
            )
        ).all()
        found = {int(row[0]): _from_row(row, row[-1]) for row in rows}
        missing = wanted - found.keys()
        if missing:
            raise NotFound(f"no incident with id {min(missing)}")
        return found

    def municipality(self, incident_id: int) -> str | None:
        """Return the incident's municipality name (the screens show it; records carry OKTMO)."""
        return self._session.scalar(
            sa.select(Incident.municipality).where(Incident.id == incident_id)
        )

    def set_parent(self, incident_id: int, parent_id: int | None) -> None:
        """Make an incident a child of a parent incident (a surge); not workflow state.

        The optimistic-locking version is left alone, like the counters.
        """
        self._session.flush()
        self._session.execute(_SET_PARENT, {"b_id": incident_id, "b_parent": parent_id})

    def set_parents(self, parents: Sequence[tuple[int, int]]) -> None:
        """Set many ``(incident id, parent id)`` in one executemany, as :meth:`set_parent` each."""
        if not parents:
            return
        self._session.flush()
        self._session.execute(
            _SET_PARENT, [{"b_id": child, "b_parent": parent} for child, parent in parents]
        )

    def children(self, parent_id: int) -> list[IncidentRecord]:
        """Return a parent incident's children, oldest first."""
        query = (
            sa.select(Incident)
            .where(Incident.parent_incident_id == parent_id)
            .order_by(Incident.id)
            .execution_options(populate_existing=True)
        )
        return self._records(list(self._session.scalars(query)))

    def by_status(self, statuses: Sequence[IncidentStatus]) -> list[IncidentRecord]:
        """Return the incidents in any of these states, oldest first."""
        query = sa.select(Incident).where(Incident.status.in_(statuses)).order_by(Incident.id)
        return self._records(list(self._session.scalars(query)))

    def for_executor(self, executor_id: int) -> list[IncidentRecord]:
        """Return the incidents actively assigned to an executor, oldest first."""
        query = (
            sa.select(Incident)
            .join(Assignment, Assignment.incident_id == Incident.id)
            .where(Assignment.executor_id == executor_id, Assignment.status.in_(ACTIVE_ASSIGNMENT))
            .order_by(Incident.id)
            .distinct()
        )
        return self._records(list(self._session.scalars(query)))

    def set_classification(
        self,
        incident_id: int,
        *,
        expected_version: int,
        topic_group: str | None,
        topic: str | None,
        municipality: str | None,
        municipality_oktmo: str | None,
        now: dt.datetime,
    ) -> IncidentRecord:
        """Set the topic and municipality a person chose; bumps the version like a state change.

        Raises:
            NotFound: the incident does not exist.
            ConcurrentUpdate: the incident changed since the caller read it.
        """
        row = self._session.get(Incident, incident_id, populate_existing=True)
        if row is None:
            raise NotFound(f"no incident with id {incident_id}")
        if row.version != expected_version:
            raise ConcurrentUpdate(incident_id, expected_version, row.version)
        row.topic_group, row.topic = topic_group, topic
        row.municipality, row.municipality_oktmo = municipality, municipality_oktmo
        row.updated_at = now
        flag_modified(row, "updated_at")
        try:
            self._session.flush()
        except StaleDataError as err:
            raise ConcurrentUpdate(incident_id, expected_version) from err
        return self._record(row, self._executor_code(row.id))

    def save_state(
        self, new: IncidentRecord, *, expected_version: int, now: dt.datetime
    ) -> IncidentRecord:
        """Write the workflow fields of ``new`` if the stored version is still ``expected_version``.

        Raises:
            NotFound: the incident does not exist.
            ConcurrentUpdate: the incident changed since the caller read it.
        """
        # One UPDATE … WHERE version = expected RETURNING (the optimistic lock in the statement)
        # instead of a re-read, a unit-of-work flush and a second read.
        # Every workflow step bumps the version, even one that leaves every field as it was (an
        # interim answer keeps the state; a fake clock may not move).
        self._session.flush()
        row = self._session.execute(
            _SAVE_STATE,
            {
                "b_id": new.id,
                "b_expected": expected_version,
                "b_status": new.status,
                "b_resolution": new.resolution,
                "b_merged_into_id": new.merged_into_id,
                "b_closed_at": new.closed_at,
                "b_now": now,
                "b_version": expected_version + 1,
            },
        ).one_or_none()
        if row is None:
            stored = self._session.scalar(sa.select(_TABLE.c.version).where(_TABLE.c.id == new.id))
            if stored is None:
                raise NotFound(f"no incident with id {new.id}")
            raise ConcurrentUpdate(new.id, expected_version, stored)
        # An ORM copy loaded earlier in this session is now out of date: reload it on next use.
        loaded = self._session.identity_map.get(identity_key(Incident, new.id))
        if loaded is not None:
            self._session.expire(loaded)
        return _from_row(row, self._executor_code(new.id))

    def set_status_many(
        self,
        incidents: Sequence[IncidentRecord],
        status: IncidentStatus,
        *,
        now: dt.datetime,
    ) -> list[IncidentRecord]:
        """Move many incidents to ``status`` if each is still at the version given; in order.

        What :meth:`save_state` does for one incident, with resolution, merge and closing unset,
        with one ``UPDATE … WHERE id IN … AND version = … RETURNING`` per version among
        them (the pipeline's new incidents share version 1) and one read of executors.

        Raises:
            ConcurrentUpdate: an incident changed since the caller read it (or is gone).
        """
        if not incidents:
            return []
        self._session.flush()
        by_version: dict[int, list[int]] = {}
        for incident in incidents:
            by_version.setdefault(incident.version, []).append(incident.id)
        saved: dict[int, sa.Row[Any]] = {}
        for version, ids in by_version.items():
            rows = self._session.execute(
                sa.update(_TABLE)
                .where(_TABLE.c.id.in_(ids), _TABLE.c.version == version)
                .values(
                    status=status,
                    resolution=None,
                    merged_into_id=None,
                    closed_at=None,
                    updated_at=now,
                    version=version + 1,
                )
                .returning(*_RECORD_COLUMNS)
            ).all()
            saved.update((int(row[0]), row) for row in rows)
            missing = [i for i in ids if i not in saved]
            if missing:
                raise ConcurrentUpdate(missing[0], version)
        codes = self._executor_codes([i.id for i in incidents])
        for incident in incidents:
            loaded = self._session.identity_map.get(identity_key(Incident, incident.id))
            if loaded is not None:
                self._session.expire(loaded)
        return [_from_row(saved[i.id], codes.get(i.id)) for i in incidents]
