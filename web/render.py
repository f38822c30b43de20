"""Rendering a page: the template's own values plus what every page shows (user, CSRF, region)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from web.auth import csrf_token, has_session, viewer_of
from web.keys import SITE_INFO

__all__ = ["render"]


def render(
    template: str, request: web.Request, context: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    """Render a template with the page's context (the signed-in user, CSRF token, region)."""
    info = request.app[SITE_INFO]
    values: dict[str, Any] = {
        "viewer": viewer_of(request),
        "csrf": csrf_token(request) if has_session(request) else "",
        "region": info.region_name,
        "version": info.version,
        "notice": None,
    }
    values.update(context)
    return aiohttp_jinja2.render_template(template, request, values, status=status)
