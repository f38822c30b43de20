"""``GET /metrics``: the Prometheus text exposition of the registry the composition root built."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

__all__ = ["METRICS_REGISTRY", "add_metrics_route", "metrics"]

METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)


async def metrics(request: web.Request) -> web.Response:
    """Render every metric of the registry (database figures are read in a worker thread)."""
    registry = request.app[METRICS_REGISTRY]
    body = await asyncio.to_thread(generate_latest, registry)
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def add_metrics_route(app: web.Application, registry: CollectorRegistry) -> None:
    """Serve ``registry`` at ``/metrics``."""
    app[METRICS_REGISTRY] = registry
    app.router.add_get("/metrics", metrics, name="metrics")
