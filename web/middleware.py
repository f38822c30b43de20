"""Middlewares: errors rendered as pages (JSON under /api/), and the security headers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from web.errors import AppError, TooManyRequests
from web.render import render

__all__ = ["CONTENT_SECURITY_POLICY", "error_middleware", "security_headers"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: No inline scripts or styles, nothing from other sites; forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_HTTP_TITLES = {
    400: "Неверный запрос",
    403: "Нет прав",
    404: "Страница не найдена",
    405: "Метод не разрешён",
    413: "Слишком большой запрос",
}


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def _render(
    request: web.Request, status: int, title: str, detail: str, field: str | None = None
) -> web.StreamResponse:
    if _wants_json(request):
        body: dict[str, object] = {"status": status, "error": title, "detail": detail}
        if field is not None:
            body["field"] = field
        return web.json_response(body, status=status)
    return render(
        "error.html",
        request,
        {"status": status, "title": title, "detail": detail},
        status=status,
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render AppErrors (and aiohttp's own HTTP errors) as pages or JSON; log the unexpected."""
    try:
        return await handler(request)
    except AppError as err:
        response = _render(request, err.status, err.title, err.detail, err.field)
        if isinstance(err, TooManyRequests):
            response.headers["Retry-After"] = str(err.retry_after)
        return response
    except web.HTTPException as err:
        if err.status < 400:
            raise
        title = _HTTP_TITLES.get(err.status, err.reason)
        response = _render(request, err.status, title, err.reason)
        for name in ("Allow", "Retry-After"):
            if name in err.headers:
                response.headers[name] = err.headers[name]
        return response
    except asyncio.CancelledError:
        raise
    except Exception:  # the request loop's boundary: log, answer 500, keep serving
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _render(
            request, 500, "Внутренняя ошибка", "что-то пошло не так; ошибка записана в журнал"
        )


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add the Content-Security-Policy and the other hardening headers to every answer."""
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.path != "/health" and not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
