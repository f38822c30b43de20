"""The web application factory."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry

from web import views
from web.keys import HEALTH_PROBE, OVERVIEW, SITE_INFO, HealthProbe, OverviewProvider, SiteInfo
from web.metrics import add_metrics_route
from web.outage import Availability, outage_middleware


def create_app(
    *,
    site_info: SiteInfo,
    health_probe: HealthProbe,
    overview: OverviewProvider | None = None,
    metrics: CollectorRegistry | None = None,
    availability: Availability | None = None,
) -> web.Application:
    """Build the aiohttp application from collaborators the composition root provides.

    With ``availability``, pages answer 503 while the database is unreachable (web/outage.py).
    """
    app = web.Application()
    if availability is not None:
        app.middlewares.append(outage_middleware(availability))
    app[SITE_INFO] = site_info
    app[HEALTH_PROBE] = health_probe
    app[OVERVIEW] = overview
    app.router.add_get("/", views.index, name="index")
    app.router.add_get("/health", views.health, name="health")
    if metrics is not None:
        add_metrics_route(app, metrics)
    return app
