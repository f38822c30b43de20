"""While the database is unreachable, every page answers 503 with the reason (not a traceback).

The composition root hands the application an :class:`Availability`: ``unavailable()`` says
why the database cannot be used now (None when it can), and ``classify(err)`` recognises an
error raised by a handler as such an outage. ``/health`` is left to its own handler, which
reports the same reason as JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from typing import Protocol

from aiohttp import web

__all__ = ["EXEMPT_PATHS", "Availability", "outage_middleware", "outage_response"]

#: Paths served whatever the database's state (they report it themselves).
EXEMPT_PATHS = frozenset({"/health"})
#: Seconds a client is told to wait before asking again.
RETRY_AFTER = 10

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Availability(Protocol):
    """What the web app needs to know about the database's reachability."""

    async def unavailable(self) -> str | None:
        """Return why the database cannot be used now, or None."""

    def classify(self, err: BaseException) -> str | None:
        """Return the outage ``err`` stands for, or None when it is some other error."""


_PAGE = """<!doctype html>
<html lang="ru">
<head><meta charset="utf-8"><meta http-equiv="refresh" content="{retry}">
<title>Сервис временно недоступен</title></head>
<body style="font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 48rem">
<h1>Сервис временно недоступен</h1>
<p>Нет связи с базой данных. Собранные сообщения не потеряны: работа продолжится, когда связь
восстановится. Страница обновится сама через {retry} с.</p>
<p style="color: #666">Причина: {reason}</p>
</body>
</html>
"""


def outage_response(request: web.Request, reason: str) -> web.Response:
    """Return the 503 answer: JSON for API clients, a Russian page for browsers."""
    headers = {"Retry-After": str(RETRY_AFTER)}
    wants_json = request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )
    if wants_json:
        return web.json_response(
            {"status": "unavailable", "detail": reason}, status=503, headers=headers
        )
    return web.Response(
        text=_PAGE.format(retry=RETRY_AFTER, reason=escape(reason)),
        status=503,
        content_type="text/html",
        headers=headers,
    )


def outage_middleware(availability: Availability) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Return a middleware answering 503 while ``availability`` reports the database gone."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in EXEMPT_PATHS:
            return await handler(request)
        reason = await availability.unavailable()
        if reason is not None:
            return outage_response(request, reason)
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as err:
            reason = availability.classify(err)
            if reason is None:
                raise
            return outage_response(request, reason)

    return middleware
