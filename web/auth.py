"""Sessions, CSRF and login throttling for the workspace.

- The session is a signed cookie (itsdangerous; HttpOnly, SameSite=Lax, Secure behind HTTPS)
  holding the user's id, the user's session epoch and the CSRF token; nothing else is kept on
  the server, so any web process can serve any request. The user is looked up on every request:
  a disabled user, or one whose password changed (the epoch moved on), is signed out at once.
- Every unsafe request authenticated by the cookie must carry the session's CSRF token (form
  field ``csrf`` or header ``X-CSRF-Token``); a cross-site form post lacks it and is refused.
  Requests with ``Authorization: Bearer`` carry no cookie and need no CSRF token.
- Failed logins are counted per login and per client address (in this process): from the
  fifth failure on, that key is locked for a delay that doubles each time (1 s, 2 s, 4 s, ...
  up to 15 minutes), answered 429 with Retry-After, without the server ever sleeping.
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from aiohttp import web
from aiohttp.typedefs import Middleware
from itsdangerous import BadSignature, URLSafeTimedSerializer

from web.contracts import Viewer, Workspace
from web.errors import Forbidden, TooManyRequests
from web.form_body import read_form

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LoginThrottle",
    "SessionCodec",
    "SessionData",
    "auth_middleware",
    "csrf_token",
    "has_session",
    "is_bearer",
    "sign_in",
    "sign_out",
    "viewer_of",
]

log = logging.getLogger(__name__)

COOKIE = "im_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class SessionData:
    """What the session cookie holds: who (if anyone) is signed in, and the CSRF token."""

    csrf: str
    user_id: int | None = None
    epoch: int = 0


_VIEWER: web.RequestKey[Viewer | None] = web.RequestKey("im_viewer")
_SESSION = web.RequestKey("im_session", SessionData)
_DIRTY = web.RequestKey("im_session_dirty", bool)
_BEARER = web.RequestKey("im_bearer", bool)


class SessionCodec:
    """Signs and reads session cookies."""

    def __init__(self, secret: str, *, max_age: int) -> None:
        """Sign with ``secret``; cookies older than ``max_age`` seconds are not accepted."""
        self._serializer = URLSafeTimedSerializer(secret, salt="im-session")
        self.max_age = max_age

    def dumps(self, data: SessionData) -> str:
        """Return the signed cookie value."""
        return str(self._serializer.dumps({"c": data.csrf, "u": data.user_id, "e": data.epoch}))

    def loads(self, value: str) -> SessionData | None:
        """Return the session of a cookie value, or None when forged, damaged or expired."""
        try:
            raw = self._serializer.loads(value, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("c"), str):
            return None
        user_id, epoch = raw.get("u"), raw.get("e")
        if user_id is not None and not isinstance(user_id, int):
            return None
        if not isinstance(epoch, int):
            return None
        return SessionData(raw["c"], user_id, epoch)


def _new_session() -> SessionData:
    return SessionData(csrf=secrets.token_urlsafe(32))


@dataclass
class _Strikes:
    failures: int = 0
    locked_until: datetime | None = None
    last: datetime | None = None


@dataclass
class LoginThrottle:
    """Counts failed logins per key (login, address) and locks a key after too many."""

    clock: Callable[[], datetime]
    free_failures: int = 4
    base_delay: float = 1.0
    max_delay: float = 900.0
    forget_after: timedelta = timedelta(hours=12)
    _keys: dict[str, _Strikes] = field(default_factory=dict)

    def check(self, keys: Iterable[str]) -> None:
        """Raise TooManyRequests while any of the keys is locked."""
        now = self.clock()
        wait = 0.0
        for key in keys:
            strikes = self._keys.get(key)
            if strikes is not None and strikes.locked_until is not None:
                wait = max(wait, (strikes.locked_until - now).total_seconds())
        if wait > 0:
            raise TooManyRequests(
                f"слишком много неудачных попыток входа; попробуйте через {math.ceil(wait)} с",
                retry_after=math.ceil(wait),
            )

    def failure(self, keys: Iterable[str]) -> None:
        """Count a failed login against each key; lock those past the free failures."""
        now = self.clock()
        self._prune(now)
        for key in keys:
            strikes = self._keys.setdefault(key, _Strikes())
            strikes.failures += 1
            strikes.last = now
            over = strikes.failures - self.free_failures
            if over > 0:
                delay = min(self.max_delay, self.base_delay * 2 ** (over - 1))
                strikes.locked_until = now + timedelta(seconds=delay)

    def success(self, keys: Iterable[str]) -> None:
        """Forget the failures of these keys after a successful login."""
        for key in keys:
            self._keys.pop(key, None)

    def _prune(self, now: datetime) -> None:
        if len(self._keys) < 10_000:
            return
        old = [k for k, s in self._keys.items() if s.last and now - s.last > self.forget_after]
        for key in old:
            del self._keys[key]


def viewer_of(request: web.Request) -> Viewer | None:
    """Return the signed-in user of the request (None: nobody)."""
    return request.get(_VIEWER)


def has_session(request: web.Request) -> bool:
    """Return whether the request went through the session middleware."""
    return _SESSION in request


def _session(request: web.Request) -> SessionData:
    return request[_SESSION]


def csrf_token(request: web.Request) -> str:
    """Return the CSRF token forms of this page must carry."""
    return _session(request).csrf


def sign_in(request: web.Request, viewer: Viewer, epoch: int) -> None:
    """Bind the session to the user, with a fresh CSRF token (no session fixation)."""
    request[_SESSION] = SessionData(secrets.token_urlsafe(32), viewer.user_id, epoch)
    request[_VIEWER] = viewer
    request[_DIRTY] = True


def sign_out(request: web.Request) -> None:
    """End the session (the browser gets a fresh anonymous one)."""
    request[_SESSION] = _new_session()
    request[_VIEWER] = None
    request[_DIRTY] = True


def is_bearer(request: web.Request) -> bool:
    """Return whether the request was authenticated by an API token."""
    return bool(request.get(_BEARER))


async def _csrf_ok(request: web.Request, expected: str) -> bool:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await read_form(request)
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent is not None and hmac.compare_digest(sent, expected)


def auth_middleware(
    workspace: Workspace,
    codec: SessionCodec,
    *,
    csrf_exempt: Callable[[web.Request], bool] | None = None,
) -> Middleware:
    """Return the middleware that reads the session or token, checks CSRF, writes the cookie.

    ``csrf_exempt`` names unsafe requests that need no CSRF token because they are not
    authenticated by the cookie (the JSON API's sign-in, which a cross-site page cannot send).
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            request[_BEARER] = True
            request[_SESSION] = _new_session()
            request[_DIRTY] = False
            request[_VIEWER] = await workspace.accounts.by_token(header[7:].strip())
            return await handler(request)
        cookie = request.cookies.get(COOKIE)
        data = codec.loads(cookie) if cookie else None
        request[_DIRTY] = data is None
        if data is None:
            data = _new_session()
        viewer = None
        if data.user_id is not None:
            viewer = await workspace.accounts.by_session(data.user_id, data.epoch)
            if viewer is None:  # disabled, or signed out elsewhere by a password change
                data = replace(_new_session())
                request[_DIRTY] = True
        request[_SESSION] = data
        request[_VIEWER] = viewer
        exempt = csrf_exempt is not None and csrf_exempt(request)
        if request.method not in _SAFE and not exempt and not await _csrf_ok(request, data.csrf):
            log.warning("refused %s %s: missing or wrong CSRF token", request.method, request.path)
            raise Forbidden("форма устарела или пришла с чужого сайта: обновите страницу")
        try:
            response = await handler(request)
        except web.HTTPRedirection as redirect:
            # Redirects are raised; answer them as responses so that the cookie goes along.
            response = web.Response(status=redirect.status, headers=redirect.headers)
        if request.get(_DIRTY):
            response.set_cookie(
                COOKIE,
                codec.dumps(_session(request)),
                max_age=codec.max_age,
                httponly=True,
                samesite="Lax",
                secure=workspace.secure_cookies,
                path="/",
            )
        return response

    return middleware
