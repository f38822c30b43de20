"""Refuse NUL characters in a page's query, form or JSON body, naming the field.

PostgreSQL text (and JSONB) cannot hold ``\\u0000``: such a value reached the database and
failed there as a 500. No field of this application takes one, so the request is a 400 that
names the field before any handler runs, on every backend alike. The JSON API (``/api/``)
refuses NUL in its request models instead, as a 422 like its other invalid fields.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from web.errors import BadRequest
from web.form_body import read_form

__all__ = ["refuse_nul"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"


def _refuse(field: str) -> BadRequest:
    name = field.replace("\x00", "")[:64] or "body"
    return BadRequest(f"{name}: недопустимый символ NUL (\\u0000)", field=name)


def _nul_path(value: Any, path: str) -> str | None:
    """Return the dotted path of the first string in a JSON value that holds NUL."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            found = _nul_path(item, where)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


@web.middleware
async def refuse_nul(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 400 naming the field when the query, a form or a JSON body carries NUL."""
    if request.path.startswith("/api/"):
        return await handler(request)
    for key, value in request.query.items():
        if "\x00" in key or "\x00" in value:
            raise _refuse(key)
    if request.body_exists and request.content_type in (_FORM, _JSON):
        raw = await request.read()
        if request.content_type == _FORM and b"%00" in raw:
            for key, field in (await read_form(request)).items():
                if "\x00" in key or (isinstance(field, str) and "\x00" in field):
                    raise _refuse(key)
        elif request.content_type == _JSON and b"\\u0000" in raw:
            try:
                data = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                data = None  # not JSON: the handler answers that
            found = _nul_path(data, "")
            if found is not None:
                raise _refuse(found)
    return await handler(request)
