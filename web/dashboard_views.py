"""The supervisors' dashboards: KPIs of a period as SVG charts and tables (docs/kpi.md).

Everyone signed in may open them: supervisors, operators and administrators see every figure;
an executor's staff see only their own executor's (app/dashboards.py enforces it). Every figure
links to the queue filtered to what it counts (by the dimension and the days received).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from markupsafe import Markup

from web.charts import Bar, Part, StackedBar, bar_chart, column_chart, stacked_chart
from web.dashboard_contracts import Dashboards
from web.errors import BadRequest, NotFound
from web.export_views import parse_format, stream_table
from web.keys import SITE_INFO, WORKSPACE
from web.labels import STATUS_LABELS
from web.render import render
from web.workspace_views import require_viewer

if TYPE_CHECKING:
    from app.dashboards import Dashboard
    from app.kpi import KpiRow

__all__ = ["add_routes", "parse_period"]

#: The default period: the last 30 days, today included.
DEFAULT_DAYS = 30
#: The longest period a page or the API computes at once (a year and a day).
MAX_DAYS = 366
#: States a KPI's incident can be in once it has a final answer.
ANSWERED_STATES = ("answered", "approved", "published", "closed", "reopened", "rework")
#: The queue parameter of each breakdown's key.
QUEUE_PARAMETER = {
    "executor": "executor",
    "municipality": "municipality",
    "topic": "topic_group",
    "network": "network",
}


def _day(value: str | None, name: str) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(f"{name}: ожидается дата ГГГГ-ММ-ДД", field=name) from None


def parse_period(
    query: Mapping[str, str], timezone: str, today: date
) -> tuple[date, date, datetime, datetime]:
    """Read ``from``/``to`` (days in the region's zone, ``to`` inclusive; default 30 days).

    Returns the two days and the half-open pair of aware instants they stand for.
    """
    zone = ZoneInfo(timezone)
    last = _day(query.get("to"), "to") or today
    first = _day(query.get("from"), "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise BadRequest("to: конец периода раньше начала", field="to")
    if (last - first).days >= MAX_DAYS:
        raise BadRequest(f"период длиннее {MAX_DAYS} дней", field="from")
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(last + timedelta(days=1), time(), zone)
    return first, last, start, end


@dataclass(frozen=True, slots=True)
class Links:
    """Builds queue links for the period's figures."""

    first: date
    last: date

    def queue(self, *pairs: tuple[str, str], states: Sequence[str] = ()) -> str:
        """Return the queue's URL filtered by the period's days and ``pairs``."""
        params = [("from", self.first.isoformat()), ("to", self.last.isoformat())]
        params += [(k, v) for k, v in pairs if v]
        params += [("state", s) for s in states]
        return "/queue?" + urlencode(params)

    def week(self, by: str, key: str | None, monday: str) -> str:
        """Return the queue of one group's incidents received in the week from ``monday``."""
        first = max(date.fromisoformat(monday), self.first)
        last = min(first + timedelta(days=6 - first.weekday()), self.last)
        pairs = [] if key is None else [(QUEUE_PARAMETER[by], key)]
        return Links(first, last).queue(*pairs, states=tuple(STATUS_LABELS))

    def row(self, by: str, row: KpiRow, what: str = "received") -> str:
        """Return the queue behind one figure of a breakdown's row."""
        pairs = [] if row.key is None else [(QUEUE_PARAMETER[by], row.key)]
        if what == "overdue":
            return self.queue(*pairs, ("sla", "overdue"))
        if what == "late":
            return self.queue(*pairs, ("sla", "late"), states=tuple(STATUS_LABELS))
        if what == "answered":
            return self.queue(*pairs, states=ANSWERED_STATES)
        return self.queue(*pairs, states=tuple(STATUS_LABELS))


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ч"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)} %"


def _charts(board: Dashboard, links: Links) -> dict[str, Markup]:
    by_topic, by_place, by_executor = board.by_topic, board.by_municipality, board.by_executor
    day_bars = [
        Bar(
            date.fromisoformat(p.day).strftime("%d.%m"),
            p.received,
            str(p.received),
            Links(date.fromisoformat(p.day), date.fromisoformat(p.day)).queue(
                states=tuple(STATUS_LABELS)
            ),
        )
        for p in board.volume
    ]

    def bars(rows: Sequence[KpiRow], by: str) -> list[Bar]:
        return [Bar(r.label, r.received, str(r.received), links.row(by, r)) for r in rows[:15]]

    def on_time(rows: Sequence[KpiRow], by: str) -> list[StackedBar]:
        return [
            StackedBar(
                r.label,
                (
                    Part("в срок", r.on_time, links.row(by, r, "answered")),
                    Part("ответ с опозданием", r.late - r.open_overdue, links.row(by, r, "late")),
                    Part("открыто, просрочено", r.open_overdue, links.row(by, r, "overdue")),
                    Part("срок не истёк", r.pending, links.row(by, r)),
                ),
            )
            for r in rows[:15]
        ]

    legend = ("в срок", "ответ с опозданием", "открыто, просрочено", "срок не истёк")
    return {
        "volume": column_chart("Поступило по дням", day_bars),
        "topics": bar_chart("Поступило по группам тем", bars(by_topic, "topic")),
        "places": bar_chart("Поступило по муниципалитетам", bars(by_place, "municipality")),
        "executors_on_time": stacked_chart(
            "Соблюдение сроков по исполнителям", on_time(by_executor, "executor"), legend
        ),
        "places_on_time": stacked_chart(
            "Соблюдение сроков по муниципалитетам", on_time(by_place, "municipality"), legend
        ),
        "answer_times": bar_chart(
            "Медиана времени до итогового ответа по исполнителям, рабочие часы",
            [
                Bar(r.label, r.final_answer_wh_median, _hours(r.final_answer_wh_median))
                for r in by_executor
                if r.final_answer_wh_median is not None
            ],
        ),
    }


def _ratings(rows: Sequence[KpiRow]) -> list[KpiRow]:
    """Best first: the on-time share (undecided last), then the median final answer time."""
    return sorted(
        rows,
        key=lambda r: (
            -(r.on_time_share if r.on_time_share is not None else -1.0),
            r.final_answer_wh_median if r.final_answer_wh_median is not None else float("inf"),
            r.label,
        ),
    )


def _service(request: web.Request) -> Dashboards:
    workspace = request.app[WORKSPACE]
    if workspace is None or workspace.dashboards is None:
        raise NotFound("панели показателей не настроены")
    return workspace.dashboards


async def dashboard(request: web.Request) -> web.StreamResponse:
    """The dashboard page for a period (``from``, ``to``: days in the region's zone)."""
    viewer = require_viewer(request)
    service = _service(request)
    info = request.app[SITE_INFO]
    workspace = request.app[WORKSPACE]
    assert workspace is not None  # noqa: S101 - _service checked it
    today = workspace.clock().astimezone(ZoneInfo(info.timezone)).date()
    first, last, start, end = parse_period(request.query, info.timezone, today)
    board = await service.dashboard_for(viewer, start, end)
    links = Links(first, last)
    return render(
        "dashboard.html",
        request,
        {
            "board": board,
            "first": first,
            "last": last,
            "links": links,
            "charts": _charts(board, links),
            "executor_ratings": _ratings(board.by_executor),
            "place_ratings": _ratings(board.by_municipality),
            "hours": _hours,
            "percent": _percent,
        },
    )


#: The KPI tables a dashboard export names (``Dashboards.tables_for`` returns them in order).
EXPORT_TABLES = ("figures", "misroutes")


async def dashboard_export(request: web.Request) -> web.StreamResponse:
    """A KPI table of a period as CSV or XLSX: ``/dashboard/export/{figures|misroutes}.{fmt}``.

    ``from``/``to`` as on the page, ``by`` (executor, municipality, topic, network; none: the
    totals); an executor's staff get only their own executor's figures, as on the page.
    """
    viewer = require_viewer(request)
    service = _service(request)
    which = request.match_info["table"]
    if which not in EXPORT_TABLES:
        raise NotFound("нет такой таблицы показателей")
    fmt = parse_format(request.match_info["fmt"])
    info = request.app[SITE_INFO]
    workspace = request.app[WORKSPACE]
    assert workspace is not None  # noqa: S101 - _service checked it
    today = workspace.clock().astimezone(ZoneInfo(info.timezone)).date()
    first, last, start, end = parse_period(request.query, info.timezone, today)
    tables = await service.tables_for(viewer, start, end, request.query.get("by") or None)
    table = tables[EXPORT_TABLES.index(which)]
    name = f"{table.name}-{first.isoformat()}-{last.isoformat()}.{fmt}"
    return await stream_table(request, table, fmt, filename=name)


def add_routes(app: web.Application) -> None:
    """Register the dashboard pages and their KPI table exports."""
    app.router.add_get("/dashboard", dashboard, name="dashboard")
    app.router.add_get(
        r"/dashboard/export/{table:[a-z]+}.{fmt:[a-z]+}", dashboard_export, name="dashboard_export"
    )
