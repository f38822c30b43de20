"""Signing in with a login and password, throttled: shared by the login form and the JSON API."""

from __future__ import annotations

import logging

from aiohttp import web

from web.auth import sign_in
from web.contracts import Viewer, Workspace
from web.errors import BadRequest, Unauthorized
from web.keys import LOGIN_THROTTLE

__all__ = ["client_address", "sign_in_with_password"]

log = logging.getLogger(__name__)


def client_address(request: web.Request) -> str:
    """Return the client's address as the throttle counts it."""
    return request.remote or "unknown"


async def sign_in_with_password(
    request: web.Request, workspace: Workspace, login: str, password: str
) -> Viewer:
    """Check the password under the login throttle and bind the session to the user.

    Raises TooManyRequests while the login or the address is locked, Unauthorized for a wrong
    login or password (counted against both), BadRequest for an empty one. Failures are logged
    with the login and the address, never the password.
    """
    throttle = request.app[LOGIN_THROTTLE]
    keys = (f"login:{login.casefold()}", f"addr:{client_address(request)}")
    throttle.check(keys)
    try:
        viewer = await workspace.accounts.authenticate(login, password)
    except (Unauthorized, BadRequest) as err:
        if isinstance(err, Unauthorized):
            throttle.failure(keys)
        log.warning("failed login for %r from %s", login, client_address(request))
        raise
    throttle.success(keys)
    sign_in(request, viewer, await workspace.accounts.session_epoch(viewer.user_id))
    log.info("user %s signed in from %s", viewer.login, client_address(request))
    return viewer
