"""Typed keys for the objects the composition root hands to the web application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """What the screens show about this installation."""

    region_name: str
    timezone: str
    version: str
    sources: int
    executors: int
    rules: int


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The result of one health probe."""

    ok: bool
    database_ok: bool
    schema_revision: str | None
    schema_head: str
    detail: str = ""


HealthProbe = Callable[[], Awaitable[HealthReport]]

SITE_INFO = web.AppKey("site_info", SiteInfo)
HEALTH_PROBE: web.AppKey[HealthProbe] = web.AppKey("health_probe")
