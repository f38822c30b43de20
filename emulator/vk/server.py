"""The VK emulator: token checks, limits, quotas, faults, ``execute``, and its aiohttp app."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from functools import partial
from typing import Any

from aiohttp import web

from emulator.vk.activity import ActivityModel, Published
from emulator.vk.admin import add_admin_routes
from emulator.vk.errors import VkApiError, bad_param, captcha_error, message_for
from emulator.vk.faults import Fault, FaultBook, FaultKind, FaultRates, RandomFaults
from emulator.vk.limits import (
    METHOD_ACCESS,
    RATE_LIMITS,
    QuotaBook,
    QuotaPolicy,
    SlidingWindowLimiter,
    TokenSpec,
    TokenStats,
)
from emulator.vk.methods import Caller, Methods, parse_version
from emulator.vk.vkscript import Interpreter
from emulator.vk.world import (
    Comment,
    GroupState,
    NotFound,
    Post,
    RegionSpec,
    TruthComment,
    TruthPost,
    World,
    generate_world,
)

#: The oldest ``v`` accepted; older ones get error 8 like VK answers them.
MIN_VERSION = (5, 81)
CURRENT_VERSION = "5.199"

_dumps = partial(json.dumps, ensure_ascii=False)
_captcha_sids = itertools.count(548_747_100_000)


def default_tokens(world: World) -> list[TokenSpec]:
    """Return the demo tokens: three service tokens, a user following every community, and the
    community token of the control centre's own community (``world.official_group_id``)."""
    monitored = frozenset(g for g in world.groups if g != world.official_group_id)
    return [
        TokenSpec("vk-demo-service-1", "service"),
        TokenSpec("vk-demo-service-2", "service"),
        TokenSpec("vk-demo-service-3", "service"),
        TokenSpec("vk-demo-user", "user", follows=monitored, group_id=world.official_group_id),
        TokenSpec("vk-demo-community", "community", group_id=world.official_group_id),
    ]


def _param_value(value: Any) -> str:
    """Turn a VKScript value into a form parameter the way VK does (lists comma-joined)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(_param_value(v) for v in value)
    if isinstance(value, dict):
        return _dumps(value)
    return str(value)


class VkEmulator:
    """A stand-in for ``https://api.vk.com/method/<name>`` over a generated region.

    Time comes only from ``clock``; ``sleep`` is what a ``delay`` fault awaits.
    """

    def __init__(
        self,
        *,
        seed: int = 1,
        groups: int = 30,
        clock: Callable[[], float] = time.time,
        tokens: Iterable[TokenSpec] | None = None,
        quota: QuotaPolicy | None = None,
        region: RegionSpec | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        activity_multiplier: float = 1.0,
    ) -> None:
        self.clock = clock
        self.activity_multiplier = activity_multiplier
        self.sleep = sleep
        self.region = region or RegionSpec(seed=seed, groups=groups)
        self.started_at = clock()
        self.world = generate_world(self.region, clock)
        self.methods = Methods(self.world)
        self.tokens: dict[str, TokenSpec] = {}
        for spec in tokens if tokens is not None else default_tokens(self.world):
            self.add_token(spec)
        self.revoked: set[str] = set()
        self.limiter = SlidingWindowLimiter()
        self.quotas = QuotaBook(quota or QuotaPolicy())
        self.faults = FaultBook()
        self.random_faults = RandomFaults()
        self.stats: dict[str, TokenStats] = {}
        self.transport_faults: Counter[str] = Counter()
        self._activity: ActivityModel | None = None

    # ---- the Python control API ----------------------------------------------------------

    def add_token(self, spec: TokenSpec) -> None:
        """Accept one more token."""
        self.tokens[spec.token] = spec

    def revoke_token(self, token: str) -> None:
        """Make a token fail with error 5 from now on."""
        self.revoked.add(token)

    def token_stats(self, token: str) -> TokenStats:
        """Return what a token has done so far."""
        return self.stats.setdefault(token, TokenStats())

    def inject(self, kind: FaultKind, **options: Any) -> Fault:
        """Queue a fault: ``inject("error", error_code=6, count=2, method="wall.get")``."""
        return self.faults.add(Fault(kind=kind, **options))

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        self.faults.clear()

    @property
    def fault_rates(self) -> FaultRates:
        """Return the shares of calls failing at random (none by default)."""
        return self.random_faults.rates

    def set_fault_rates(self, rates: FaultRates | None = None, **shares: Any) -> FaultRates:
        """Make a share of calls fail at random, reproducibly from ``seed``.

        ``set_fault_rates(error=0.15, http=0.03, truncate=0.03, seed=4)``; with no argument the
        random faults stop. See :class:`emulator.vk.faults.FaultRates`.
        """
        if rates is None:
            rates = FaultRates(**shares)
        elif shares:
            raise TypeError("pass either rates or shares, not both")
        self.random_faults.set(rates)
        return rates

    def publish_post(self, group_id: int, text: str, **options: Any) -> Post:
        """Publish a post now (see :meth:`World.publish_post` for the options)."""
        return self.world.publish_post(group_id, text, **options)

    def publish_comment(self, group_id: int, post_id: int, text: str, **options: Any) -> Comment:
        """Publish a comment or a reply now."""
        return self.world.publish_comment(group_id, post_id, text, **options)

    def edit_post(self, group_id: int, post_id: int, text: str) -> Post:
        """Edit a post's text (sets ``edited``)."""
        return self.world.edit_post(group_id, post_id, text)

    def edit_comment(self, group_id: int, comment_id: int, text: str) -> Comment:
        """Edit a comment's text."""
        return self.world.edit_comment(group_id, comment_id, text)

    def delete_post(self, group_id: int, post_id: int) -> None:
        """Delete a post."""
        self.world.delete_post(group_id, post_id)

    def delete_comment(self, group_id: int, comment_id: int) -> None:
        """Delete a comment (a top-level one with replies stays as a stub)."""
        self.world.delete_comment(group_id, comment_id)

    def pin_post(self, group_id: int, post_id: int | None) -> None:
        """Pin a post, or unpin with None."""
        self.world.pin_post(group_id, post_id)

    def set_group_state(self, group_id: int, state: GroupState) -> None:
        """Open, close, make private, delete, ban or block a community."""
        self.world.set_group_state(group_id, state)

    def close_comments(self, group_id: int, post_id: int, closed: bool = True) -> None:
        """Close or reopen a post's comments."""
        self.world.close_comments(group_id, post_id, closed)

    def visible_posts(self, group_id: int | None = None, **options: Any) -> list[TruthPost]:
        """Return the ground truth: every post a reader can see now."""
        return self.world.visible_posts(group_id, **options)

    def visible_comments(
        self, group_id: int | None = None, post_id: int | None = None, **options: Any
    ) -> list[TruthComment]:
        """Return the ground truth: every comment and reply a reader can see now."""
        return self.world.visible_comments(group_id, post_id, **options)

    @property
    def activity(self) -> ActivityModel:
        """Return the activity model; it simulates from the moment the region was generated."""
        if self._activity is None:
            self._activity = ActivityModel(
                self.world,
                seed=self.region.seed,
                start=self.started_at,
                rate_multiplier=self.activity_multiplier,
            )
        return self._activity

    def advance_activity(self, until: float | None = None) -> list[Published]:
        """Publish what the activity model generates up to ``until`` (default: the clock)."""
        return self.activity.advance(self.clock() if until is None else until)

    # ---- calls ---------------------------------------------------------------------------

    def _caller(self, spec: TokenSpec, version: tuple[int, int], now: float) -> Caller:
        user_id = 0
        if spec.kind == "user":
            user_id = 100_000_000 + zlib.crc32(spec.token.encode()) % 800_000_000
        return Caller(token=spec, user_id=user_id, version=version, now=int(now))

    @staticmethod
    def error_envelope(err: VkApiError, method: str, params: Mapping[str, str]) -> dict[str, Any]:
        """Return ``{"error": {...}}`` echoing the request parameters like VK does."""
        echoed = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
        echoed += [{"key": k, "value": v} for k, v in params.items() if k != "access_token"]
        body: dict[str, Any] = {
            "error_code": err.code,
            "error_msg": err.message,
            "request_params": echoed,
        }
        body.update(err.extra)
        return {"error": body}

    def _authorise(self, params: Mapping[str, str]) -> tuple[TokenSpec, tuple[int, int]]:
        raw_version = params.get("v")
        if not raw_version:
            raise VkApiError(
                8,
                'Invalid request: v is required. Version param should be passed as "v". '
                '"version" param is invalid and not supported.',
            )
        version = parse_version(raw_version)
        if version is None or version < MIN_VERSION:
            raise VkApiError(
                8,
                f"Invalid request: versions below {MIN_VERSION[0]}.{MIN_VERSION[1]} are "
                'deprecated. Version param should be passed as "v". "version" param is invalid '
                "and not supported. For more information go to "
                "https://vk.com/dev/constant_version_updates",
            )
        token = params.get("access_token", "")
        if not token:
            raise VkApiError(5, "User authorization failed: no access_token passed.")
        spec = self.tokens.get(token)
        if spec is None:
            raise VkApiError(5, "User authorization failed: invalid access_token (4).")
        if token in self.revoked:
            raise VkApiError(5, "User authorization failed: user revoke access for this token.")
        return spec, version

    def _check_kind(self, method: str, spec: TokenSpec) -> None:
        allowed = METHOD_ACCESS.get(method)
        if allowed is None:
            raise VkApiError(3)
        if spec.kind not in allowed:
            if spec.kind == "community":
                raise VkApiError(27)
            if spec.kind == "service":
                raise VkApiError(28)
            raise VkApiError(15, "Access denied: no access to call this method")

    def _invoke(self, method: str, params: Mapping[str, str], caller: Caller, now: float) -> Any:
        """Run one non-execute method: token kind, daily quota, then the method itself."""
        self._check_kind(method, caller.token)
        if not self.quotas.try_consume(caller.token.token, method, now):
            raise VkApiError(29)
        return self.methods.dispatch(method, params, caller)

    def _execute(self, params: Mapping[str, str], caller: Caller, now: float) -> dict[str, Any]:
        code = params.get("code", "")
        if not code.strip():
            raise bad_param("code is undefined")
        errors: list[dict[str, Any]] = []
        stats = self.token_stats(caller.token.token)

        def call_api(method: str, values: dict[str, Any]) -> Any:
            inner = {k: _param_value(v) for k, v in values.items() if v is not None}
            try:
                if method == "execute":
                    raise VkApiError(3)
                fault = self.faults.take(method, caller.token.token, inner=True)
                if fault is not None:
                    raise fault_error(fault)
                random_code = self.random_faults.error(method, inner=True)
                if random_code is not None:
                    raise VkApiError(random_code)
                result = self._invoke(method, inner, caller, now)
            except VkApiError as err:
                errors.append({"method": method, "error_code": err.code, "error_msg": err.message})
                stats.record(now, method, err.code, inner=True)
                return False
            stats.record(now, method, None, inner=True)
            return result

        args = {k: v for k, v in params.items() if k not in ("code", "access_token", "v")}
        result = Interpreter(call_api, args).run(code)
        envelope: dict[str, Any] = {"response": result}
        if errors:
            last = errors[-1]
            errors.append(
                {
                    "method": "execute",
                    "error_code": last["error_code"],
                    "error_msg": last["error_msg"],
                }
            )
            envelope["execute_errors"] = errors
        return envelope

    def call(self, method: str, params: Mapping[str, str]) -> dict[str, Any]:
        """Answer one API request (``access_token`` and ``v`` among ``params``) as VK would."""
        now = self.clock()
        token = params.get("access_token", "")
        code: int | None = None
        try:
            spec, version = self._authorise(params)
            if not self.limiter.try_acquire(token, RATE_LIMITS[spec.kind], now):
                raise VkApiError(6)
            random_code = self.random_faults.error(method, inner=False)
            if random_code is not None:
                raise VkApiError(random_code)
            caller = self._caller(spec, version, now)
            if method == "execute":
                self._check_kind(method, spec)
                envelope = self._execute(params, caller, now)
            else:
                envelope = {"response": self._invoke(method, params, caller, now)}
        except VkApiError as err:
            code = err.code
            envelope = self.error_envelope(err, method, params)
        self.token_stats(token).record(now, method, code, inner=False)
        return envelope

    def fault_envelope(
        self, fault: Fault, method: str, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """Return the error an ``error`` fault answers with, counting it in the stats."""
        token = params.get("access_token", "")
        err = fault_error(fault)
        self.token_stats(token).record(self.clock(), method, err.code, inner=False)
        return self.error_envelope(err, method, params)

    # ---- HTTP ----------------------------------------------------------------------------

    async def handle_method(self, request: web.Request) -> web.StreamResponse:
        """Serve ``GET|POST /method/<name>``."""
        method = request.match_info["method"]
        params: dict[str, str] = dict(request.query)
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = value
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer ") and not params.get("access_token"):
            params["access_token"] = auth[7:].strip()
        fault = self.faults.take(method, params.get("access_token", ""))
        if fault is not None and fault.kind == "delay":
            self.transport_faults["delay"] += 1
            await self.sleep(fault.delay)
            fault = None
        if fault is not None and fault.kind == "error":
            return web.json_response(self.fault_envelope(fault, method, params), dumps=_dumps)
        kind: FaultKind | None = fault.kind if fault is not None else None
        status = fault.status if fault is not None else self.random_faults.rates.status
        if kind is None:
            kind = self.random_faults.transport(method)
        if kind is None:
            return web.json_response(self.call(method, params), dumps=_dumps)
        self.transport_faults[kind] += 1
        if kind == "http":
            return web.Response(
                status=status,
                text=f"<html><body><h1>{status}</h1>nginx</body></html>",
                content_type="text/html",
            )
        if kind == "drop":
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError  # nothing goes back: the client sees a disconnect
        # A truncated body: the call ran (its effects and counters stay), the answer is cut.
        body = _dumps(self.call(method, params)).encode()
        return web.Response(body=body[: max(1, len(body) // 2)], content_type="application/json")

    def create_app(self, *, activity_interval: float | None = None) -> web.Application:
        """Return the aiohttp app: ``/method/<name>`` plus the ``/_emulator/`` admin endpoints.

        With ``activity_interval`` a background task runs the activity model every that many
        seconds of the clock (the standalone demo uses it).
        """
        app = web.Application()
        app[EMULATOR_KEY] = self
        app.router.add_route("GET", "/method/{method}", self.handle_method)
        app.router.add_route("POST", "/method/{method}", self.handle_method)
        add_admin_routes(app, self)
        if activity_interval is not None:
            app.cleanup_ctx.append(partial(_activity_task, self, activity_interval))
        return app


EMULATOR_KEY = web.AppKey("vk_emulator", VkEmulator)


def fault_error(fault: Fault) -> VkApiError:
    """Return the API error an ``error`` fault stands for (14 carries a captcha, 17 a URI)."""
    if fault.error_code == 14:
        err = captcha_error(str(next(_captcha_sids)))
        if fault.error_msg:
            err.message = fault.error_msg
        return err
    extra: dict[str, Any] = {}
    if fault.error_code == 17:
        extra["redirect_uri"] = "https://id.vk.com/validate?emulated=1"
    return VkApiError(fault.error_code, fault.error_msg or message_for(fault.error_code), **extra)


async def _activity_task(
    emulator: VkEmulator, interval: float, _app: web.Application
) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            emulator.advance_activity()

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


__all__ = ["EMULATOR_KEY", "NotFound", "VkEmulator", "default_tokens", "fault_error"]
