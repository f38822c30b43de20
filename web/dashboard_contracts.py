"""What the dashboards and ``GET /api/v1/kpi`` ask of app/ (implemented by app/dashboards.py).

The figures are app/kpi.py's dataclasses; web/ names them only for types.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from app.dashboards import Dashboard
    from app.kpi import KpiReport
    from app.tabular import Table
    from web.contracts import Viewer

__all__ = ["Dashboards"]


class Dashboards(Protocol):
    """The KPI service as the web sees it; bounds are aware instants, ``[start, end)``."""

    async def dashboard_for(self, viewer: Viewer, start: datetime, end: datetime) -> Dashboard:
        """Return the dashboard the viewer may see (executors: their own figures only)."""
        ...

    async def report_for(
        self, viewer: Viewer, start: datetime, end: datetime, by: str | None
    ) -> KpiReport:
        """Return the KPI report the viewer may see, broken down ``by`` a dimension."""
        ...

    async def tables_for(
        self, viewer: Viewer, start: datetime, end: datetime, by: str | None
    ) -> list[Table]:
        """Return that report as tables for the exporters: the figures, then the misroutes."""
        ...
