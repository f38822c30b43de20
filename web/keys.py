"""Typed keys for the objects the composition root hands to the web application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from web.auth import LoginThrottle
from web.contracts import Workspace


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
    # The process stage's latest backlog (messages waiting, the oldest one's age), if measured.
    backlog: Mapping[str, object] | None = None


HealthProbe = Callable[[], Awaitable[HealthReport]]


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One incident on the start screen; times are aware datetimes (shown in the region's zone)."""

    number: str
    status: str
    priority: str
    title: str
    topic_group: str | None
    municipality: str | None
    messages: int
    authors: int
    created_at: datetime
    executor: str | None
    deadline: datetime | None
    supported: int = 0  # messages that support it (reactions, advice): «поддержали: N»


@dataclass(frozen=True, slots=True)
class Overview:
    """What the start screen shows about the work: counts by state and the latest incidents."""

    messages: int
    by_status: tuple[tuple[str, int], ...]
    latest: tuple[IncidentRow, ...]


OverviewProvider = Callable[[], Awaitable[Overview]]

SITE_INFO = web.AppKey("site_info", SiteInfo)
HEALTH_PROBE: web.AppKey[HealthProbe] = web.AppKey("health_probe")
OVERVIEW: web.AppKey[OverviewProvider | None] = web.AppKey("overview")

#: The operators' and executors' workspace (None: only the start screen and /health).
WORKSPACE: web.AppKey[Workspace | None] = web.AppKey("workspace")
#: Failed-login counters of this process.
LOGIN_THROTTLE: web.AppKey[LoginThrottle] = web.AppKey("login_throttle")
