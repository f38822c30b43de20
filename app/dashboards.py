"""The KPI service behind the CLI, the dashboards and ``GET /api/v1/kpi``.

It reads the log through storage/repositories/kpi.py and computes with app/kpi.py. Who sees
what: supervisors, operators and administrators every figure; an executor's staff only the
figures of their own executor's assignments (and its own escalations, no source health).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from app.kpi import (
    Case,
    Dimension,
    EscalationCount,
    GroupWeeks,
    KpiReport,
    KpiRow,
    MisrouteRow,
    Period,
    VolumePoint,
    build_cases,
    escalation_counts,
    group_rows,
    kpi_tables,
    misroutes,
    report_of,
    summarise,
    volume,
    weekly,
)
from app.routing import Routing
from app.tabular import Table
from router.sla import WorkingHours
from storage.repositories.kpi import KpiRepository, SourceHealth
from web.contracts import Viewer
from web.errors import BadRequest, Forbidden

__all__ = ["Dashboard", "KpiService"]

#: Network codes as the screens name them.
NETWORK_NAMES = {"vk": "ВКонтакте", "ok": "Одноклассники", "telegram": "Telegram", "file": "файл"}


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Everything the dashboard page shows for one period."""

    period: Period
    as_of: datetime
    own_executor: str | None  # set: an executor's own figures only
    total: KpiRow
    by_executor: tuple[KpiRow, ...]
    by_municipality: tuple[KpiRow, ...]
    by_topic: tuple[KpiRow, ...]
    by_network: tuple[KpiRow, ...]
    volume: tuple[VolumePoint, ...]
    weeks: tuple[str, ...]  # the Mondays of the weeks in topic_weeks and place_weeks
    topic_weeks: tuple[GroupWeeks, ...]
    place_weeks: tuple[GroupWeeks, ...]
    misroutes: tuple[MisrouteRow, ...]
    escalations: tuple[EscalationCount, ...]
    sources: tuple[SourceHealth, ...]


class KpiService:
    """Computes KPI reports and dashboards from the event log."""

    def __init__(
        self,
        *,
        sessionmaker: sessionmaker[Session],
        routing: Callable[[], Routing],
        clock: Callable[[], datetime],
        timezone: str,
    ) -> None:
        """Take the session factory, the routing in force (for working hours), clock, zone."""
        self._sessions = sessionmaker
        self._routing = routing
        self._clock = clock
        self.zone: tzinfo = ZoneInfo(timezone)

    def _hours_of(self) -> Callable[[str | None], WorkingHours]:
        routing = self._routing()

        def hours_of(executor: str | None) -> WorkingHours:
            return routing.region_hours if executor is None else routing.hours_of(executor)

        return hours_of

    def _cases(
        self, period: Period, as_of: datetime
    ) -> tuple[list[Case], list[Case], dict[str, str]]:
        """Replay the period's log, streamed from one read session, into cases."""
        with self._sessions() as session:
            repository = KpiRepository(session)
            facts = repository.facts(period.start, period.end)
            names = {**NETWORK_NAMES, **repository.executor_names()}
            incidents, assignments = build_cases(
                repository.events(period.start, period.end, as_of),
                facts,
                period=period,
                as_of=as_of,
                hours_of=self._hours_of(),
            )
        return incidents, assignments, names

    def report(
        self,
        period: Period,
        *,
        by: Dimension | None = None,
        as_of: datetime | None = None,
        executor: str | None = None,
    ) -> KpiReport:
        """Compute the period's KPIs (only ``executor``'s assignments when it is given)."""
        when = self._clock() if as_of is None else as_of
        incidents, assignments, names = self._cases(period, when)
        if executor is None:
            return report_of(incidents, assignments, period=period, as_of=when, by=by, names=names)
        own = [c for c in assignments if c.executor == executor]
        return KpiReport(
            period=period,
            as_of=when,
            by=by,
            total=summarise(own, executor, names.get(executor, executor)),
            rows=() if by is None else group_rows(own, by, names),
            misroutes=tuple(misroutes(own)),
        )

    def dashboard(self, period: Period, *, executor: str | None = None) -> Dashboard:
        """Compute everything the dashboard shows (an executor's own figures when given)."""
        when = self._clock()
        incidents, assignments, names = self._cases(period, when)
        with self._sessions() as session:
            repository = KpiRepository(session)
            escalated = repository.escalations(period.start, period.end)
            sources = () if executor is not None else tuple(repository.source_health())
        if executor is not None:
            assignments = [c for c in assignments if c.executor == executor]
            incidents = assignments
            escalated = [e for e in escalated if e.executor == executor]
        label = names.get(executor, executor) if executor else "всего"
        weeks, topic_weeks = weekly(incidents, self.zone, Dimension.TOPIC, names)
        _, place_weeks = weekly(incidents, self.zone, Dimension.MUNICIPALITY, names)
        return Dashboard(
            period=period,
            as_of=when,
            own_executor=executor,
            total=summarise(incidents, executor, label),
            by_executor=group_rows(assignments, Dimension.EXECUTOR, names),
            by_municipality=group_rows(incidents, Dimension.MUNICIPALITY, names),
            by_topic=group_rows(incidents, Dimension.TOPIC, names),
            by_network=group_rows(incidents, Dimension.NETWORK, names),
            volume=tuple(volume(incidents, self.zone)),
            weeks=weeks,
            topic_weeks=topic_weeks,
            place_weeks=place_weeks,
            misroutes=tuple(misroutes(assignments)),
            escalations=tuple(escalation_counts(escalated, names)),
            sources=sources,
        )

    # ------------------------------------------------------------------ for web/

    @staticmethod
    def _scope(viewer: Viewer) -> str | None:
        if viewer.is_executor:
            if not viewer.executor_code:
                raise Forbidden("учётная запись исполнителя не привязана к исполнителю")
            return viewer.executor_code
        return None

    @staticmethod
    def _period(start: datetime, end: datetime) -> Period:
        try:
            return Period(start, end)
        except ValueError:
            raise BadRequest("to: конец периода раньше начала", field="to") from None

    async def dashboard_for(self, viewer: Viewer, start: datetime, end: datetime) -> Dashboard:
        """The dashboard a viewer may see: an executor's staff only their executor's figures."""
        period = self._period(start, end)
        scope = self._scope(viewer)
        return await asyncio.to_thread(self.dashboard, period, executor=scope)

    async def report_for(
        self, viewer: Viewer, start: datetime, end: datetime, by: str | None
    ) -> KpiReport:
        """The KPI report a viewer may see (executors: their own assignments only)."""
        period = self._period(start, end)
        try:
            dimension = Dimension(by) if by else None
        except ValueError:
            raise BadRequest("by: executor, municipality, topic или network", field="by") from None
        scope = self._scope(viewer)
        return await asyncio.to_thread(self.report, period, by=dimension, executor=scope)

    async def tables_for(
        self, viewer: Viewer, start: datetime, end: datetime, by: str | None
    ) -> list[Table]:
        """The report a viewer may see as tables: the figures, then the misroutes per rule."""
        return kpi_tables(await self.report_for(viewer, start, end, by))
