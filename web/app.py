"""The web application factory."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry

from web import api, dashboard_views, export_views, views, workspace_views
from web.auth import LoginThrottle, SessionCodec, auth_middleware
from web.contracts import Workspace
from web.filters import install_filters
from web.keys import (
    HEALTH_PROBE,
    LOGIN_THROTTLE,
    OVERVIEW,
    SITE_INFO,
    WORKSPACE,
    HealthProbe,
    OverviewProvider,
    SiteInfo,
)
from web.metrics import add_metrics_route
from web.middleware import error_middleware, security_headers
from web.nul_guard import refuse_nul
from web.outage import Availability, outage_middleware

_HERE = Path(__file__).resolve().parent

#: The largest request body accepted (forms, JSON): 1 MiB.
MAX_BODY = 1024 * 1024


def create_app(
    *,
    site_info: SiteInfo,
    health_probe: HealthProbe,
    overview: OverviewProvider | None = None,
    workspace: Workspace | None = None,
    metrics: CollectorRegistry | None = None,
    availability: Availability | None = None,
) -> web.Application:
    """Build the aiohttp application from collaborators the composition root provides.

    Without a ``workspace`` the application serves only the start screen and ``/health``; with
    one, also the workspace's pages and the JSON API under ``/api/v1/``. With ``availability``,
    pages answer 503 while the database is unreachable (web/outage.py), before any middleware
    that needs the database runs.
    """
    middlewares: list[Middleware] = [security_headers, error_middleware]
    if availability is not None:
        middlewares.append(outage_middleware(availability))
    if workspace is not None:
        codec = SessionCodec(workspace.session_secret, max_age=workspace.session_max_age)
        middlewares.append(auth_middleware(workspace, codec, csrf_exempt=api.csrf_exempt))
    middlewares.append(refuse_nul)
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY)
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(_HERE / "templates")),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )
    install_filters(environment, site_info.timezone)
    app[SITE_INFO] = site_info
    app[HEALTH_PROBE] = health_probe
    app[OVERVIEW] = overview
    app[WORKSPACE] = workspace
    app.router.add_get("/", views.index, name="index")
    app.router.add_get("/health", views.health, name="health")
    if metrics is not None:
        add_metrics_route(app, metrics)
    app.router.add_static("/static/", _HERE / "static", name="static")
    if workspace is not None:
        app[LOGIN_THROTTLE] = LoginThrottle(clock=workspace.clock)
        workspace_views.add_routes(app)
        dashboard_views.add_routes(app)
        export_views.add_routes(app)
        api.add_routes(app)
    return app
