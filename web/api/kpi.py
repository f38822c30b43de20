"""``GET /api/v1/kpi``: a period's KPIs as JSON (the definitions are docs/kpi.md's).

The models validate the query and serialise the answer; the OpenAPI document is written from
them (web/api/openapi.py), like every other operation's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from web.dashboard_views import parse_period
from web.errors import NotFound
from web.keys import SITE_INFO

if TYPE_CHECKING:
    from app.kpi import KpiRow
    from web.api.views import Call

__all__ = ["KpiOut", "KpiQuery", "kpi"]


class KpiQuery(BaseModel):
    """The period and the breakdown: the query parameters of GET /api/v1/kpi."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_: date | None = Field(
        None, alias="from", description="First day, in the region's zone (default: 30 days back)."
    )
    to: date | None = Field(None, description="Last day, inclusive (default: today).")
    by: Literal["executor", "municipality", "topic", "network"] | None = Field(
        None, description="Break the figures down by this dimension."
    )


class KpiRowOut(BaseModel):
    """The figures of one group (shares 0..1, durations in hours; null: nothing to measure)."""

    model_config = ConfigDict(frozen=True)

    key: str | None = Field(description="The group's queue filter value (null: the total).")
    label: str
    received: int
    answered: int
    on_time: int
    late: int = Field(description="Answered late, or open past the deadline.")
    open_overdue: int
    pending: int = Field(description="Neither answered nor past the deadline yet.")
    on_time_share: float | None
    answered_share: float | None
    first_answer_wh_median: float | None
    first_answer_wh_p90: float | None
    first_answer_h_median: float | None
    first_answer_h_p90: float | None
    final_answer_wh_median: float | None
    final_answer_wh_p90: float | None
    final_answer_h_median: float | None
    final_answer_h_p90: float | None
    returned: int
    returned_share: float | None
    rework: int
    rework_share: float | None
    reopened: int
    reopened_share: float | None


class MisrouteOut(BaseModel):
    """One routing rule's assignments in the period and the "не наш" returns among them."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    routed: int
    not_ours: int
    share: float | None


class KpiOut(BaseModel):
    """A period's KPIs: the total, the breakdown, the misroutes per rule."""

    model_config = ConfigDict(frozen=True, serialize_by_alias=True)

    from_: datetime = Field(
        serialization_alias="from", description="The start of the period (inclusive)."
    )
    to: datetime = Field(description="The end of the period (exclusive).")
    as_of: datetime
    by: str | None
    total: KpiRowOut
    rows: list[KpiRowOut]
    misroutes: list[MisrouteOut]


def _row(row: KpiRow) -> KpiRowOut:
    names = KpiRowOut.model_fields
    return KpiRowOut.model_validate({name: getattr(row, name) for name in names})


async def kpi(call: Call) -> BaseModel:
    """The caller's KPIs for a period (an executor's staff: their executor's only)."""
    workspace = call.workspace
    if workspace.dashboards is None:
        raise NotFound("показатели не настроены")
    info = call.request.app[SITE_INFO]
    today = workspace.clock().astimezone(ZoneInfo(info.timezone)).date()
    _, _, start, end = parse_period(call.request.query, info.timezone, today)
    query = call.query
    by = query.by if isinstance(query, KpiQuery) else None
    report = await workspace.dashboards.report_for(call.caller(), start, end, by)
    return KpiOut(
        from_=report.period.start,
        to=report.period.end,
        as_of=report.as_of,
        by=by,
        total=_row(report.total),
        rows=[_row(r) for r in report.rows],
        misroutes=[
            MisrouteOut(rule_id=m.rule_id, routed=m.routed, not_ours=m.not_ours, share=m.share)
            for m in report.misroutes
        ],
    )
