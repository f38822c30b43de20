"""KPIs rebuilt from the event log: pure functions over the events storage reads.

The definitions are docs/kpi.md's. In short: a *case* is one incident (the figures by
municipality, topic group and network, and the totals) or one executor's assignment (the figures
by executor). A case belongs to the period in which it was received (its first ``assign``
event); its outcome is read from the events up to ``as_of``: answered (a final answer), on time
or late (its SLA clock, an open clock past its deadline counting as late), returned, sent to
rework, reopened. Times to the first and to the final answer are given in working hours (the
answering executor's schedule and the production calendar) and in calendar hours; the median
and the 90th percentile interpolate linearly between closest ranks.
"""

from __future__ import annotations

import enum
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any

from app.tabular import Column, Table
from router.calendar import CalendarYearMissing
from router.sla import SlaClock, WorkingHours
from router.working_time import day_intervals, resolve_zone
from storage.repositories.assignments import clock_from_json
from storage.repositories.kpi import KPI_EVENT_KINDS, IncidentFacts, KpiEvent

__all__ = [
    "KPI_COLUMNS",
    "KPI_EVENT_KINDS",
    "MANUAL_RULE",
    "Case",
    "DayCache",
    "Dimension",
    "EscalationCount",
    "GroupWeeks",
    "IncidentFacts",
    "KpiEvent",
    "KpiReport",
    "KpiRow",
    "MisrouteRow",
    "Period",
    "VolumePoint",
    "build_cases",
    "build_report",
    "escalation_counts",
    "group_rows",
    "kpi_tables",
    "misroutes",
    "percentile",
    "report_json",
    "report_of",
    "row_json",
    "summarise",
    "volume",
    "weekly",
]

_ANSWERS = ("answer_interim", "answer_final")
#: The misroute table's name for assignments no jurisdiction rule made (an operator's choice).
MANUAL_RULE = "manual"


class Dimension(enum.StrEnum):
    """What the figures can be broken down by."""

    EXECUTOR = "executor"
    MUNICIPALITY = "municipality"
    TOPIC = "topic"
    NETWORK = "network"


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open interval ``[start, end)`` of aware instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a period's bounds must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")

    def __contains__(self, at: object) -> bool:
        return isinstance(at, datetime) and self.start <= at < self.end


@dataclass(frozen=True, slots=True)
class Case:
    """One counted unit (an incident, or one executor's assignment) and its outcome."""

    incident_id: int
    assignment_id: int | None
    executor: str | None
    received_at: datetime
    answered: bool
    on_time: bool
    late: bool
    open_overdue: bool
    first_answer_wh: float | None
    first_answer_h: float | None
    final_answer_wh: float | None
    final_answer_h: float | None
    returned: bool
    rework: bool
    reopened: bool
    facts: IncidentFacts
    rule_id: str | None = None  # assignments: the routing rule that made it
    not_ours: bool = False  # assignments: returned as "не наш"


@dataclass(frozen=True, slots=True)
class KpiRow:
    """The figures of one group of cases (``key`` is the queue filter's value; None: all)."""

    key: str | None
    label: str
    received: int
    answered: int
    on_time: int
    late: int
    open_overdue: int
    first_answer_wh_median: float | None
    first_answer_wh_p90: float | None
    first_answer_h_median: float | None
    first_answer_h_p90: float | None
    final_answer_wh_median: float | None
    final_answer_wh_p90: float | None
    final_answer_h_median: float | None
    final_answer_h_p90: float | None
    returned: int
    rework: int
    reopened: int

    @property
    def pending(self) -> int:
        """Cases not yet decided: neither answered nor late (their clock still has time)."""
        return self.received - self.on_time - self.late

    @property
    def on_time_share(self) -> float | None:
        """On time among the decided (on time + late); None when nothing is decided yet."""
        decided = self.on_time + self.late
        return None if decided == 0 else self.on_time / decided

    @property
    def answered_share(self) -> float | None:
        """Answered among the received."""
        return _share(self.answered, self.received)

    @property
    def returned_share(self) -> float | None:
        """Returned by the executor (either kind) among the received."""
        return _share(self.returned, self.received)

    @property
    def rework_share(self) -> float | None:
        """Sent back for rework among the answered."""
        return _share(self.rework, self.answered)

    @property
    def reopened_share(self) -> float | None:
        """Reopened by the citizen among the answered."""
        return _share(self.reopened, self.answered)


@dataclass(frozen=True, slots=True)
class MisrouteRow:
    """One routing rule: assignments it made in the period and how many came back "не наш"."""

    rule_id: str
    routed: int
    not_ours: int

    @property
    def share(self) -> float | None:
        """Misroutes among the rule's assignments."""
        return _share(self.not_ours, self.routed)


@dataclass(frozen=True, slots=True)
class VolumePoint:
    """Incidents received on one day (in the region's zone)."""

    day: str  # ISO date
    received: int


@dataclass(frozen=True, slots=True)
class EscalationCount:
    """Escalations sent in the period, by executor and level."""

    executor: str
    at_risk: int
    overdue: int


@dataclass(frozen=True, slots=True)
class KpiReport:
    """Every KPI of a period: the total, one breakdown, misroutes per rule."""

    period: Period
    as_of: datetime
    by: Dimension | None
    total: KpiRow
    rows: tuple[KpiRow, ...]
    misroutes: tuple[MisrouteRow, ...]


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the ``q`` quantile (0..1), interpolating linearly between closest ranks.

    This is the "type 7" estimator (numpy's default, ``statistics.quantiles(method=
    "inclusive")``): the position ``(n - 1) * q`` in the sorted values.
    """
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --------------------------------------------------------------------------- replay


@dataclass
class _Unit:
    """What the replay learns about one incident or assignment."""

    received_at: datetime | None = None
    executor: str | None = None
    rule_id: str | None = None
    first_answer: tuple[datetime, str | None] | None = None
    final_answer: tuple[datetime, str | None] | None = None
    clock: Mapping[str, Any] | None = None
    returned: bool = False
    not_ours: bool = False
    rework: bool = False
    reopened: bool = False


def _hours(value: timedelta) -> float:
    return value.total_seconds() / 3600


class DayCache:
    """``WorkingHours.between`` with each day's working intervals computed once.

    A year's KPIs ask for the working time of ~10^5 spans over the same few hundred days;
    ``router.working_time.working_time_between`` rebuilds every day's intervals on each call.
    This walks the days the same way over ``day_intervals`` (the same function it uses),
    memoised per date (tests/app/test_kpi_hours.py checks both agree).
    """

    def __init__(self, hours: WorkingHours) -> None:
        """Wrap one executor's working hours."""
        self.hours = hours
        self._zone = resolve_zone(hours.timezone)
        self._days: dict[date, list[tuple[datetime, datetime]]] = {}

    def _day(self, d: date) -> list[tuple[datetime, datetime]]:
        found = self._days.get(d)
        if found is None:
            h = self.hours
            found = self._days[d] = day_intervals(d, h.schedule, h.calendar, self._zone)
        return found

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Return the working time inside ``[a, b)`` (both aware; ``b`` not before ``a``)."""
        if b <= a:
            if b < a:
                raise ValueError(f"the end {b.isoformat()} is before the start {a.isoformat()}")
            return timedelta(0)
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        d = a.astimezone(self._zone).date()
        if self.hours.schedule.has_overnight:
            d -= timedelta(days=1)
        last = (b - timedelta(microseconds=1)).astimezone(self._zone).date()
        total = timedelta(0)
        cur = a
        while d <= last:
            for start, end in self._day(d):
                start, end = max(start, cur), min(end, b)
                if end > start:
                    total += end - start
                    cur = end
            d += timedelta(days=1)
        return total


def _outcome(unit: _Unit, as_of: datetime) -> tuple[bool, bool, bool]:
    """Return (on time, late, open and overdue) of a unit's clock at ``as_of``.

    The same rules as ``router.sla.status`` (a running clock is overdue from its deadline on;
    a stopped one is late when it stopped after its deadline), without counting the working
    time used, which the KPIs do not need.
    """
    if unit.clock is None:
        return False, False, False
    clock: SlaClock = clock_from_json(dict(unit.clock))
    deadline = clock.deadline
    if clock.stopped_at is not None:
        late = deadline is not None and clock.stopped_at > deadline
        if unit.final_answer is not None:
            return not late, late, False
        return False, late, False  # ended unanswered: late if it ended past its deadline
    if clock.running and deadline is not None and as_of >= deadline:
        return False, True, True
    return False, False, False  # running before its deadline, or paused


def _case(
    unit: _Unit,
    incident_id: int,
    assignment_id: int | None,
    facts: IncidentFacts,
    as_of: datetime,
    hours_of: Callable[[str | None], DayCache],
) -> Case:
    received = unit.received_at
    if received is None:  # pragma: no cover - only received units become cases
        raise ValueError("a case needs its receipt")

    def times(answer: tuple[datetime, str | None] | None) -> tuple[float | None, float | None]:
        if answer is None:
            return None, None
        at, executor = answer
        try:
            working = _hours(hours_of(executor).between(received, at))
        except CalendarYearMissing:
            working = None  # answered in a year the calendar lacks: left out of the medians
        return working, _hours(at - received)

    first_wh, first_h = times(unit.first_answer)
    final_wh, final_h = times(unit.final_answer)
    on_time, late, overdue = _outcome(unit, as_of)
    return Case(
        incident_id=incident_id,
        assignment_id=assignment_id,
        executor=unit.executor,
        received_at=received,
        answered=unit.final_answer is not None,
        on_time=on_time,
        late=late,
        open_overdue=overdue,
        first_answer_wh=first_wh,
        first_answer_h=first_h,
        final_answer_wh=final_wh,
        final_answer_h=final_h,
        returned=unit.returned,
        rework=unit.rework,
        reopened=unit.reopened,
        facts=facts,
        rule_id=unit.rule_id,
        not_ours=unit.not_ours,
    )


def _replay(
    events: Sequence[KpiEvent],
) -> tuple[_Unit, dict[int, _Unit]]:
    """Replay one incident's events (in log order) into the incident and its assignments."""
    incident = _Unit()
    assignments: dict[int, _Unit] = {}
    last_final: int | None = None
    for event in events:
        aid = event.assignment_id
        unit = assignments.get(aid) if aid is not None else None
        if event.kind == "assign" and aid is not None:
            if unit is None:
                unit = assignments[aid] = _Unit(
                    received_at=event.occurred_at, executor=event.executor, rule_id=event.rule_id
                )
            if incident.received_at is None:
                incident.received_at = event.occurred_at
            incident.executor = event.executor
        elif event.kind in _ANSWERS and unit is not None:
            answer = (event.occurred_at, unit.executor)
            for target in (unit, incident):
                if target.first_answer is None:
                    target.first_answer = answer
                if event.kind == "answer_final" and target.final_answer is None:
                    target.final_answer = answer
            if event.kind == "answer_final":
                last_final = aid
                if incident.final_answer == answer:
                    incident.executor = unit.executor
        elif event.kind == "return":
            incident.returned = True
            if unit is not None:
                unit.returned = True
                unit.not_ours = unit.not_ours or event.return_kind == "not_ours"
        elif event.kind == "send_for_rework":
            incident.rework = True
            if unit is not None:
                unit.rework = True
        elif event.kind == "reopen":
            incident.reopened = True
            named = [a for a in event.clocks if a in assignments] or (
                [last_final] if last_final is not None else []
            )
            for target_id in named:
                assignments[target_id].reopened = True
        for key, document in event.clocks.items():
            if key in assignments:
                assignments[key].clock = document
        if event.overall is not None:
            incident.clock = event.overall
    return incident, assignments


def build_cases(
    events: Iterable[KpiEvent],
    facts: Mapping[int, IncidentFacts],
    *,
    period: Period,
    as_of: datetime,
    hours_of: Callable[[str | None], WorkingHours],
) -> tuple[list[Case], list[Case]]:
    """Replay the log into cases received in the period: (incidents, assignments).

    ``events`` are every KPI event of the incidents concerned, each incident's together (as
    the repository streams them: by incident, then by id), read once, so a year's log never
    sits in memory; events after ``as_of`` are ignored. ``hours_of(executor)`` gives an
    executor's working hours (``None``: the region's).
    """
    caches: dict[str | None, DayCache] = {}

    def cached(executor: str | None) -> DayCache:
        found = caches.get(executor)
        if found is None:
            found = caches[executor] = DayCache(hours_of(executor))
        return found

    incidents: list[Case] = []
    assignments: list[Case] = []
    for incident_id, group in groupby(events, key=lambda e: e.incident_id):
        own = sorted((e for e in group if e.occurred_at <= as_of), key=lambda e: e.id)
        about = facts.get(incident_id, IncidentFacts(incident_id))
        incident, units = _replay(own)
        if incident.received_at is not None and incident.received_at in period:
            incidents.append(_case(incident, incident_id, None, about, as_of, cached))
        for aid, unit in units.items():
            if unit.received_at is not None and unit.received_at in period:
                assignments.append(_case(unit, incident_id, aid, about, as_of, cached))
    return incidents, assignments


# --------------------------------------------------------------------------- aggregation


def _values(cases: Sequence[Case], name: str) -> list[float]:
    return [v for v in (getattr(c, name) for c in cases) if v is not None]


def summarise(cases: Sequence[Case], key: str | None, label: str) -> KpiRow:
    """Add a group of cases up into one row of figures."""
    stats: dict[str, float | None] = {}
    for name in ("first_answer_wh", "first_answer_h", "final_answer_wh", "final_answer_h"):
        values = _values(cases, name)
        stats[f"{name}_median"] = percentile(values, 0.5)
        stats[f"{name}_p90"] = percentile(values, 0.9)
    return KpiRow(
        key=key,
        label=label,
        received=len(cases),
        answered=sum(c.answered for c in cases),
        on_time=sum(c.on_time for c in cases),
        late=sum(c.late for c in cases),
        open_overdue=sum(c.open_overdue for c in cases),
        returned=sum(c.returned for c in cases),
        rework=sum(c.rework for c in cases),
        reopened=sum(c.reopened for c in cases),
        **stats,
    )


def _key(case: Case, by: Dimension) -> str | None:
    if by is Dimension.EXECUTOR:
        return case.executor
    if by is Dimension.MUNICIPALITY:
        return case.facts.municipality_oktmo
    if by is Dimension.TOPIC:
        return case.facts.topic_group
    return case.facts.network


def _label(case: Case, by: Dimension, names: Mapping[str, str]) -> str:
    key = _key(case, by)
    if key is None:
        return "не указано"
    if by is Dimension.MUNICIPALITY:
        return case.facts.municipality or key
    return names.get(key, key)


def group_rows(
    cases: Iterable[Case], by: Dimension, names: Mapping[str, str]
) -> tuple[KpiRow, ...]:
    """Group cases by a dimension into rows, the most received first."""
    groups: dict[str | None, list[Case]] = defaultdict(list)
    for case in cases:
        groups[_key(case, by)].append(case)
    rows = [summarise(group, key, _label(group[0], by, names)) for key, group in groups.items()]
    rows.sort(key=lambda r: (-r.received, r.label))
    return tuple(rows)


def build_report(
    events: Iterable[KpiEvent],
    facts: Mapping[int, IncidentFacts],
    *,
    period: Period,
    as_of: datetime,
    hours_of: Callable[[str | None], WorkingHours],
    by: Dimension | None = None,
    names: Mapping[str, str] | None = None,
) -> KpiReport:
    """Compute a period's figures from the log: the total, the breakdown ``by``, misroutes.

    ``names`` turns keys into labels (executor codes into names, networks into titles).
    """
    incidents, assignments = build_cases(
        events, facts, period=period, as_of=as_of, hours_of=hours_of
    )
    return report_of(incidents, assignments, period=period, as_of=as_of, by=by, names=names)


def report_of(
    incidents: Sequence[Case],
    assignments: Sequence[Case],
    *,
    period: Period,
    as_of: datetime,
    by: Dimension | None = None,
    names: Mapping[str, str] | None = None,
) -> KpiReport:
    """Add replayed cases up into a report (the totals count ``incidents``)."""
    rows: tuple[KpiRow, ...] = ()
    if by is not None:
        rows = group_rows(assignments if by is Dimension.EXECUTOR else incidents, by, names or {})
    return KpiReport(
        period=period,
        as_of=as_of,
        by=by,
        total=summarise(incidents, None, "всего"),
        rows=rows,
        misroutes=tuple(misroutes(assignments)),
    )


def misroutes(assignments: Iterable[Case]) -> list[MisrouteRow]:
    """Count, per routing rule, the assignments it made (received in the period) and the
    "не наш" returns among them; assignments without a rule count under ``manual``."""
    routed: dict[str, int] = defaultdict(int)
    back: dict[str, int] = defaultdict(int)
    for case in assignments:
        rule = case.rule_id or MANUAL_RULE
        routed[rule] += 1
        back[rule] += case.not_ours
    return [MisrouteRow(rule, routed[rule], back[rule]) for rule in sorted(routed)]


def volume(cases: Iterable[Case], zone: Any) -> list[VolumePoint]:
    """Count the cases received on each day (in ``zone``, a tzinfo), in date order."""
    days: dict[str, int] = defaultdict(int)
    for case in cases:
        days[case.received_at.astimezone(zone).date().isoformat()] += 1
    return [VolumePoint(day, days[day]) for day in sorted(days)]


@dataclass(frozen=True, slots=True)
class GroupWeeks:
    """One group's cases received in each week (weeks start on Monday, in the region's zone)."""

    key: str | None
    label: str
    counts: tuple[int, ...]


def weekly(
    cases: Iterable[Case], zone: Any, by: Dimension, names: Mapping[str, str], *, top: int = 8
) -> tuple[tuple[str, ...], tuple[GroupWeeks, ...]]:
    """Count cases per week and group: the weeks' Mondays (ISO) and the ``top`` groups' rows."""
    per: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    labels: dict[str | None, str] = {}
    weeks: set[str] = set()
    for case in cases:
        day = case.received_at.astimezone(zone).date()
        monday = (day - timedelta(days=day.weekday())).isoformat()
        key = _key(case, by)
        per[key][monday] += 1
        labels.setdefault(key, _label(case, by, names))
        weeks.add(monday)
    order = sorted(weeks)
    ranked = sorted(per, key=lambda k: (-sum(per[k].values()), labels[k]))[:top]
    rows = tuple(GroupWeeks(k, labels[k], tuple(per[k].get(w, 0) for w in order)) for k in ranked)
    return tuple(order), rows


def escalation_counts(
    events: Iterable[KpiEvent], names: Mapping[str, str]
) -> list[EscalationCount]:
    """Count escalation events by executor (its name) and level, most escalated first."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for event in events:
        if event.kind != "escalate":
            continue
        executor = event.executor or "не указан"
        found[executor][0 if event.level == "at_risk" else 1] += 1
    rows = [EscalationCount(names.get(k, k), v[0], v[1]) for k, v in found.items()]
    rows.sort(key=lambda r: (-(r.at_risk + r.overdue), r.executor))
    return rows


# --------------------------------------------------------------------------- tables

_BY_TITLES = {
    None: "Итого",
    Dimension.EXECUTOR: "Исполнитель",
    Dimension.MUNICIPALITY: "Муниципалитет",
    Dimension.TOPIC: "Группа тем",
    Dimension.NETWORK: "Сеть",
}

KPI_COLUMNS: tuple[Column, ...] = (
    Column("received", "Поступило", "int"),
    Column("answered", "Отвечено", "int"),
    Column("on_time", "В срок", "int"),
    Column("late", "С опозданием (вкл. открытые просроченные)", "int"),
    Column("open_overdue", "Открыто и просрочено", "int"),
    Column("pending", "Срок ещё не истёк", "int"),
    Column("on_time_share", "Доля в срок", "percent"),
    Column("first_answer_wh_median", "Первый ответ, медиана, раб. ч", "hours"),
    Column("first_answer_wh_p90", "Первый ответ, 90-й перц., раб. ч", "hours"),
    Column("first_answer_h_median", "Первый ответ, медиана, ч", "hours"),
    Column("first_answer_h_p90", "Первый ответ, 90-й перц., ч", "hours"),
    Column("final_answer_wh_median", "Итоговый ответ, медиана, раб. ч", "hours"),
    Column("final_answer_wh_p90", "Итоговый ответ, 90-й перц., раб. ч", "hours"),
    Column("final_answer_h_median", "Итоговый ответ, медиана, ч", "hours"),
    Column("final_answer_h_p90", "Итоговый ответ, 90-й перц., ч", "hours"),
    Column("returned_share", "Доля возвращённых", "percent"),
    Column("rework_share", "Доля отправленных на доработку", "percent"),
    Column("reopened_share", "Доля переоткрытых жителями", "percent"),
)


def _cells(row: KpiRow) -> list[object]:
    return [getattr(row, column.key) for column in KPI_COLUMNS]


def kpi_tables(report: KpiReport) -> list[Table]:
    """Return the report as tables for the exporters: figures (total, breakdown), misroutes."""
    by = report.by
    name = "kpi" if by is None else f"kpi-{by.value}"
    figures = Table(
        name=name,
        title=f"Показатели: {_BY_TITLES[by].lower()}",
        columns=(Column("key", "Код"), Column("label", _BY_TITLES[by]), *KPI_COLUMNS),
        rows=[[row.key, row.label, *_cells(row)] for row in (*report.rows, report.total)],
    )
    rules = Table(
        name="kpi-misroutes",
        title="Ошибки маршрутизации («не наш») по правилам",
        columns=(
            Column("rule_id", "Правило"),
            Column("routed", "Направлено", "int"),
            Column("not_ours", "Возвращено «не наш»", "int"),
            Column("share", "Доля", "percent"),
        ),
        rows=[[m.rule_id, m.routed, m.not_ours, m.share] for m in report.misroutes],
    )
    return [figures, rules]


# --------------------------------------------------------------------------- JSON

_ROW_FIGURES = (
    "received",
    "answered",
    "on_time",
    "late",
    "open_overdue",
    "pending",
    "on_time_share",
    "answered_share",
    "first_answer_wh_median",
    "first_answer_wh_p90",
    "first_answer_h_median",
    "first_answer_h_p90",
    "final_answer_wh_median",
    "final_answer_wh_p90",
    "final_answer_h_median",
    "final_answer_h_p90",
    "returned",
    "returned_share",
    "rework",
    "rework_share",
    "reopened",
    "reopened_share",
)


def row_json(row: KpiRow) -> dict[str, Any]:
    """Return a row as a JSON object (shares 0..1, durations in hours, None as null)."""
    figures: dict[str, Any] = {"key": row.key, "label": row.label}
    figures.update({name: getattr(row, name) for name in _ROW_FIGURES})
    return figures


def report_json(report: KpiReport) -> dict[str, Any]:
    """Return the whole report as one JSON object."""
    return {
        "from": report.period.start.isoformat(),
        "to": report.period.end.isoformat(),
        "as_of": report.as_of.isoformat(),
        "by": None if report.by is None else report.by.value,
        "total": row_json(report.total),
        "rows": [row_json(r) for r in report.rows],
        "misroutes": [
            {"rule_id": m.rule_id, "routed": m.routed, "not_ours": m.not_ours, "share": m.share}
            for m in report.misroutes
        ],
    }
