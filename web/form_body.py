"""Read a form body, refusing one that cannot be decoded with a 400 instead of a 500."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from web.errors import BadRequest

__all__ = ["read_form"]


async def read_form(
    request: web.Request,
) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """Return the request's form fields (cached by aiohttp after the first read).

    Raises:
        BadRequest: the body is not valid UTF-8 or not a well-formed multipart body (aiohttp
            raises UnicodeDecodeError or ValueError for those, which would be a 500).
    """
    try:
        return await request.post()
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("тело формы не читается (не UTF-8 или испорченный multipart)") from None
