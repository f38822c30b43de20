"""Grouping's tables: message links with evidence, fingerprints, tombstones, and index rebuilds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.enums import IncidentStatus, Network, Priority
from storage.models import (
    PRIORITY_RANK,
    Event,
    Incident,
    IncidentFingerprint,
    IncidentMessage,
    Message,
    Tombstone,
)

__all__ = [
    "ENDED_STATUSES",
    "GROUPING_EVENTS",
    "GroupingRepository",
    "IncidentCounters",
    "LinkedMessage",
    "NewLink",
    "OpenIncident",
    "StoredFingerprint",
    "TombstoneRecord",
]

#: Event kinds after which the grouping index must be rebuilt.
GROUPING_EVENTS: tuple[str, ...] = ("close", "reject", "merge", "split", "reopen", "tombstone")

#: Incidents in these states collect no more messages.
ENDED_STATUSES: tuple[IncidentStatus, ...] = (
    IncidentStatus.CLOSED,
    IncidentStatus.REJECTED,
    IncidentStatus.MERGED,
)


@dataclass(frozen=True, slots=True)
class IncidentCounters:
    """An incident's aggregates over its messages; they set its priority."""

    message_count: int
    author_count: int
    reach: int
    priority: Priority


@dataclass(frozen=True, slots=True)
class NewLink:
    """A message's link to an incident, about to be written."""

    incident_id: int
    message_id: int
    grouping_version: str
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OpenIncident:
    """An incident the grouping index holds: open ones, and those merged into an open one."""

    id: int
    status: IncidentStatus
    topic_group: str | None
    topic: str | None
    municipality_oktmo: str | None
    created_at: dt.datetime
    parent_incident_id: int | None
    merged_into_id: int | None


@dataclass(frozen=True, slots=True)
class LinkedMessage:
    """A message linked to an incident, with what grouping needs to index it again."""

    incident_id: int
    message_id: int
    network: Network
    external_id: str
    parent_external_id: str | None
    author_id: str | None
    text: str
    posted_at: dt.datetime
    views: int
    likes: int
    comments: int
    reposts: int
    grouping_version: str


@dataclass(frozen=True, slots=True)
class StoredFingerprint:
    """A lookup fingerprint pointing at an incident."""

    fingerprint: str
    incident_id: int
    grouping_version: str


@dataclass(frozen=True, slots=True)
class TombstoneRecord:
    """A dismissed fingerprint."""

    fingerprint: str
    incident_id: int | None
    reason: str
    created_at: dt.datetime


#: The bulk inserts: on the tables, not the ORM's bulk insert of the classes (several times
#: the CPU for the same rows).
_INSERT_LINKS = sa.insert(cast("sa.Table", IncidentMessage.__table__))
_INSERT_FINGERPRINTS = sa.insert(cast("sa.Table", IncidentFingerprint.__table__))


class GroupingRepository:
    """Links, fingerprints and tombstones within one session (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    # ------------------------------------------------------------------ writing

    def link(
        self,
        *,
        incident_id: int,
        message_id: int,
        grouping_version: str,
        evidence: dict[str, Any],
        now: dt.datetime,
    ) -> None:
        """Record that a message belongs to an incident, with the evidence and the version."""
        self.link_many([NewLink(incident_id, message_id, grouping_version, evidence)], now=now)

    # The bulk write path (the pipeline's batches): each method is one statement however many
    # rows it writes, through Core inserts rather than one ORM flush a row.

    def link_many(self, links: Sequence[NewLink], *, now: dt.datetime) -> None:
        """Record many message links in one multi-row insert."""
        if not links:
            return
        self._session.flush()
        self._session.execute(
            _INSERT_LINKS,
            [
                {
                    "incident_id": link.incident_id,
                    "message_id": link.message_id,
                    "grouping_version": link.grouping_version,
                    "evidence": link.evidence,
                    "attached_at": now,
                }
                for link in links
            ],
        )

    def add_fingerprints(
        self, incident_id: int, fingerprints: Iterable[tuple[str, str]], *, now: dt.datetime
    ) -> int:
        """Point ``(fingerprint, version)`` pairs at an incident; return how many were new."""
        return self.add_fingerprints_many(
            [(incident_id, fp, version) for fp, version in fingerprints], now=now
        )

    def add_fingerprints_many(
        self,
        rows: Iterable[tuple[int, str, str]],
        *,
        now: dt.datetime,
        fresh: Collection[int] = (),
    ) -> int:
        """Point ``(incident_id, fingerprint, version)`` rows at their incidents, skipping those
        already stored (or listed twice): one read and one multi-row insert. Return how many
        were new. Incidents in ``fresh`` were just created: they have none stored, so nothing is
        read for them.
        """
        wanted: dict[tuple[int, str], str] = {}
        for incident_id, fp, version in rows:
            wanted.setdefault((incident_id, fp), version)
        if not wanted:
            return 0
        incident_ids = {incident_id for incident_id, _ in wanted} - set(fresh)
        have = set()
        if incident_ids:
            have = {
                (int(row[0]), str(row[1]))
                for row in self._session.execute(
                    sa.select(
                        IncidentFingerprint.incident_id, IncidentFingerprint.fingerprint
                    ).where(
                        IncidentFingerprint.incident_id.in_(incident_ids),
                        IncidentFingerprint.fingerprint.in_({fp for _, fp in wanted}),
                    )
                )
            }
        new = [
            {
                "fingerprint": fp,
                "incident_id": incident_id,
                "grouping_version": version,
                "created_at": now,
            }
            for (incident_id, fp), version in wanted.items()
            if (incident_id, fp) not in have
        ]
        if new:
            self._session.flush()
            self._session.execute(_INSERT_FINGERPRINTS, new)
        return len(new)

    def set_counters_many(self, counters: Mapping[int, IncidentCounters]) -> None:
        """Write many incidents' aggregates and priority in one executemany (see set_counters)."""
        if not counters:
            return
        # Core on the table: an ORM bulk UPDATE would treat the optimistic-locking version.
        table = cast("sa.Table", Incident.__table__)
        self._session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"))
            .values(
                message_count=sa.bindparam("b_messages"),
                author_count=sa.bindparam("b_authors"),
                reach=sa.bindparam("b_reach"),
                priority=sa.bindparam("b_priority"),
                priority_rank=sa.bindparam("b_rank"),
            ),
            [
                {
                    "b_id": incident_id,
                    "b_messages": c.message_count,
                    "b_authors": c.author_count,
                    "b_reach": c.reach,
                    "b_priority": c.priority,
                    "b_rank": PRIORITY_RANK[c.priority],
                }
                for incident_id, c in counters.items()
            ],
        )

    def counters_many(self, incident_ids: Iterable[int]) -> dict[int, IncidentCounters]:
        """Return the stored aggregates of these incidents (one query)."""
        ids = set(incident_ids)
        if not ids:
            return {}
        rows = self._session.execute(
            sa.select(
                Incident.id,
                Incident.message_count,
                Incident.author_count,
                Incident.reach,
                Incident.priority,
            ).where(Incident.id.in_(ids))
        )
        return {int(r[0]): IncidentCounters(int(r[1]), int(r[2]), int(r[3]), r[4]) for r in rows}

    def set_counters(self, incident_id: int, counters: IncidentCounters) -> None:
        """Write an incident's aggregates and priority.

        These are not workflow state: the optimistic-locking version is left alone, so an
        operator's open screen stays valid while duplicates keep arriving.
        """
        self._session.execute(
            sa.update(Incident)
            .where(Incident.id == incident_id)
            .values(
                message_count=counters.message_count,
                author_count=counters.author_count,
                reach=counters.reach,
                priority=counters.priority,
                priority_rank=PRIORITY_RANK[counters.priority],
            )
            .execution_options(synchronize_session=False)
        )

    def move_links(
        self, source_id: int, target_id: int, message_ids: Sequence[int] | None = None
    ) -> list[int]:
        """Move message links (all, or those of ``message_ids``) to another incident.

        Returns the ids of the messages moved, in link order. A message the target already
        holds is not linked twice: the source's link is dropped.
        """
        query = sa.select(IncidentMessage.message_id).where(
            IncidentMessage.incident_id == source_id
        )
        if message_ids is not None:
            query = query.where(IncidentMessage.message_id.in_(list(message_ids)))
        moving = list(self._session.scalars(query.order_by(IncidentMessage.id)))
        if not moving:
            return []
        held = set(
            self._session.scalars(
                sa.select(IncidentMessage.message_id).where(
                    IncidentMessage.incident_id == target_id,
                    IncidentMessage.message_id.in_(moving),
                )
            )
        )
        if held:
            self._session.execute(
                sa.delete(IncidentMessage)
                .where(
                    IncidentMessage.incident_id == source_id,
                    IncidentMessage.message_id.in_(list(held)),
                )
                .execution_options(synchronize_session=False)
            )
        self._session.execute(
            sa.update(IncidentMessage)
            .where(
                IncidentMessage.incident_id == source_id,
                IncidentMessage.message_id.in_(moving),
            )
            .values(incident_id=target_id)
            .execution_options(synchronize_session=False)
        )
        self._session.flush()
        return moving

    def copy_fingerprints(self, source_id: int, target_id: int, *, now: dt.datetime) -> int:
        """Point the source incident's lookup fingerprints at the target too; return new ones."""
        pairs = [(fp.fingerprint, fp.grouping_version) for fp in self.fingerprints([source_id])]
        return self.add_fingerprints(target_id, pairs, now=now)

    def set_municipality_if_unknown(
        self, incident_id: int, *, municipality: str | None, municipality_oktmo: str
    ) -> bool:
        """Set an incident's municipality if it has none; return whether a row changed.

        Grouping's doing, not a person's: no training label, and the optimistic-locking version
        is left alone (like the counters), so an operator's open screen stays valid.
        """
        result = self._session.execute(
            sa.update(Incident)
            .where(Incident.id == incident_id, Incident.municipality_oktmo.is_(None))
            .values(municipality=municipality, municipality_oktmo=municipality_oktmo)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def add_tombstone(
        self,
        fingerprint: str,
        *,
        reason: str,
        incident_id: int | None,
        now: dt.datetime,
        user_id: int | None = None,
    ) -> bool:
        """Tombstone a fingerprint unless it already is; return whether a row was added."""
        exists = self._session.scalar(
            sa.select(Tombstone.id).where(Tombstone.fingerprint == fingerprint)
        )
        if exists is not None:
            return False
        self._session.add(
            Tombstone(
                fingerprint=fingerprint,
                reason=reason,
                incident_id=incident_id,
                user_id=user_id,
                created_at=now,
            )
        )
        self._session.flush()
        return True

    # ------------------------------------------------------------------ reading

    def linked(self, message_ids: Sequence[int]) -> dict[int, int]:
        """Return, for those of these messages already linked, the incident of each."""
        if not message_ids:
            return {}
        rows = self._session.execute(
            sa.select(IncidentMessage.message_id, IncidentMessage.incident_id).where(
                IncidentMessage.message_id.in_(list(message_ids))
            )
        )
        return {message_id: incident_id for message_id, incident_id in rows}

    def change_marker(self) -> int:
        """Return the id of the newest event that changes what grouping may attach to.

        Closing, rejecting, merging or reopening an incident and tombstoning fingerprints all
        write such an event; a pipeline whose index predates it rebuilds the index.
        """
        marker = self._session.scalar(
            sa.select(sa.func.max(Event.id)).where(Event.kind.in_(GROUPING_EVENTS))
        )
        return int(marker or 0)

    def linked_incident_ids(self, incident_ids: Sequence[int]) -> set[int]:
        """Return those of these incidents that have at least one linked message."""
        if not incident_ids:
            return set()
        return set(
            self._session.scalars(
                sa.select(IncidentMessage.incident_id)
                .where(IncidentMessage.incident_id.in_(list(incident_ids)))
                .distinct()
            )
        )

    def counters(self, incident_id: int) -> IncidentCounters:
        """Return an incident's stored aggregates."""
        row = self._session.execute(
            sa.select(
                Incident.message_count, Incident.author_count, Incident.reach, Incident.priority
            ).where(Incident.id == incident_id)
        ).one()
        return IncidentCounters(int(row[0]), int(row[1]), int(row[2]), row[3])

    def evidence(self, incident_id: int) -> list[tuple[str, dict[str, Any]]]:
        """Return each linked message's external id and the evidence of its link, in order."""
        rows = self._session.execute(
            sa.select(Message.external_id, IncidentMessage.evidence)
            .join(Message, Message.id == IncidentMessage.message_id)
            .where(IncidentMessage.incident_id == incident_id)
            .order_by(IncidentMessage.id)
        )
        return [(external_id, dict(evidence or {})) for external_id, evidence in rows]

    def open_incidents(self) -> list[OpenIncident]:
        """Return the incidents still collecting messages, and those merged into one of them."""
        rows = list(
            self._session.scalars(
                sa.select(Incident)
                .where(
                    sa.or_(
                        Incident.status.not_in(ENDED_STATUSES),
                        sa.and_(
                            Incident.status == IncidentStatus.MERGED,
                            Incident.merged_into_id.is_not(None),
                        ),
                    )
                )
                .order_by(Incident.id)
            )
        )
        open_ids = {r.id for r in rows if r.status not in ENDED_STATUSES}
        kept = [r for r in rows if r.status not in ENDED_STATUSES or (r.merged_into_id in open_ids)]
        return [
            OpenIncident(
                id=r.id,
                status=r.status,
                topic_group=r.topic_group,
                topic=r.topic,
                municipality_oktmo=r.municipality_oktmo,
                created_at=r.created_at,
                parent_incident_id=r.parent_incident_id,
                merged_into_id=r.merged_into_id,
            )
            for r in kept
        ]

    def linked_messages(
        self, incident_ids: Sequence[int], *, batch: int = 5000
    ) -> list[LinkedMessage]:
        """Return the messages linked to these incidents, in link order."""
        found: list[LinkedMessage] = []
        ids = list(incident_ids)
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            rows = self._session.execute(
                sa.select(
                    IncidentMessage.incident_id,
                    IncidentMessage.grouping_version,
                    Message.id,
                    Message.network,
                    Message.external_id,
                    Message.external_parent_id,
                    Message.author_id,
                    Message.text,
                    Message.posted_at,
                    Message.views,
                    Message.likes,
                    Message.comments,
                    Message.reposts,
                )
                .join(Message, Message.id == IncidentMessage.message_id)
                .where(IncidentMessage.incident_id.in_(chunk))
                .order_by(IncidentMessage.id)
            )
            found.extend(
                LinkedMessage(
                    incident_id=r[0],
                    grouping_version=r[1],
                    message_id=r[2],
                    network=r[3],
                    external_id=r[4],
                    parent_external_id=r[5],
                    author_id=r[6],
                    text=r[7],
                    posted_at=r[8],
                    views=r[9] or 0,
                    likes=r[10] or 0,
                    comments=r[11] or 0,
                    reposts=r[12] or 0,
                )
                for r in rows
            )
        found.sort(key=lambda m: m.posted_at)
        return found

    def fingerprints(self, incident_ids: Sequence[int]) -> list[StoredFingerprint]:
        """Return the stored lookup fingerprints of these incidents."""
        if not incident_ids:
            return []
        rows = self._session.execute(
            sa.select(
                IncidentFingerprint.fingerprint,
                IncidentFingerprint.incident_id,
                IncidentFingerprint.grouping_version,
            )
            .where(IncidentFingerprint.incident_id.in_(list(incident_ids)))
            .order_by(IncidentFingerprint.id)
        )
        return [StoredFingerprint(fp, incident_id, version) for fp, incident_id, version in rows]

    def tombstones(self) -> list[TombstoneRecord]:
        """Return every tombstone, oldest first."""
        rows = self._session.scalars(sa.select(Tombstone).order_by(Tombstone.id))
        return [TombstoneRecord(r.fingerprint, r.incident_id, r.reason, r.created_at) for r in rows]
