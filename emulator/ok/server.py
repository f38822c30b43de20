"""The OK API emulator's HTTP face: ``/fb.do?method=`` and ``/api/<group>/<name>``.

Signatures are checked with the published algorithm (social-apis.md B2); errors are the
top-level ``{"error_code", "error_msg", "error_data": null}`` with HTTP 200 (B4). Faults
(OK error codes, HTTP statuses, cut-off bodies, delays, dropped connections) are injected on
demand, as in the VK emulator.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from emulator.ok.world import OkGroup, OkWorld
from emulator.vk.faults import Fault, FaultBook, FaultKind

__all__ = ["DEMO_ACCESS_TOKEN", "DEMO_APP_KEY", "DEMO_APP_SECRET", "OkEmulator"]

#: The demo application and token (not secrets: the emulator's fixed values).
DEMO_APP_KEY = "CBADEMOAPPKEY"
DEMO_APP_SECRET = "ok-demo-application-secret"  # noqa: S105 - a demo value
DEMO_ACCESS_TOKEN = "ok-demo-access-token"  # noqa: S105 - a demo value
MOSCOW = ZoneInfo("Europe/Moscow")

ERROR_NAMES: dict[int, str] = {
    1: "UNKNOWN",
    2: "SERVICE",
    3: "METHOD",
    4: "REQUEST",
    7: "ACTION_BLOCKED",
    8: "FLOOD_BLOCKED",
    9: "IP_BLOCKED",
    10: "PERMISSION_DENIED",
    11: "LIMIT_REACHED",
    26: "TOTAL_LIMIT_REACHED",
    100: "PARAM",
    101: "PARAM_API_KEY",
    102: "PARAM_SESSION_EXPIRED",
    103: "PARAM_SESSION_KEY",
    104: "PARAM_SIGNATURE",
    160: "PARAM_GROUP_ID",
    200: "PARAM_PERMISSION",
    300: "NOT_FOUND",
    453: "SESSION_REQUIRED",
    456: "GROUP_RESTRICTION",
    458: "PRIVACY_RESTRICTION",
    700: "COMMENT_NOT_FOUND",
    9999: "SYSTEM",
}


class OkApiError(Exception):
    """An error answer."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail

    def body(self) -> dict[str, Any]:
        """Return OK's error JSON."""
        name = ERROR_NAMES.get(self.code, "UNKNOWN")
        return {"error_code": self.code, "error_msg": f"{name} : {self.detail}", "error_data": None}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def expected_sig(params: Mapping[str, str], app_secret: str) -> str:
    """Return the signature OK expects (server-server when a token is sent)."""
    token = params.get("access_token") or params.get("session_key")
    secret = _md5(token + app_secret) if token else app_secret
    signed = "".join(
        f"{k}={params[k]}"
        for k in sorted(params)
        if k not in ("access_token", "session_key", "sig")
    )
    return _md5(signed + secret)


def ok_date(when: float) -> str:
    """Return OK's zone-less comment date (Moscow time)."""
    return dt.datetime.fromtimestamp(when, tz=MOSCOW).strftime("%Y-%m-%d %H:%M:%S")


class OkEmulator:
    """A stand-in for ``https://api.ok.ru/fb.do`` over a generated set of groups."""

    def __init__(
        self,
        *,
        seed: int = 1,
        groups: int = 6,
        posts: int = 40,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        app_key: str = DEMO_APP_KEY,
        app_secret: str = DEMO_APP_SECRET,
        tokens: tuple[str, ...] = (DEMO_ACCESS_TOKEN,),
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.world = OkWorld(seed=seed, groups=groups, clock=clock, posts=posts)
        self.app_key = app_key
        self.app_secret = app_secret
        self.tokens = set(tokens)
        self.faults = FaultBook()
        self.calls: list[str] = []

    def inject(self, kind: FaultKind, **options: Any) -> Fault:
        """Queue a fault: ``inject("error", error_code=2, method="mediatopic.getTopics")``."""
        return self.faults.add(Fault(kind=kind, **options))

    # ---- methods ---------------------------------------------------------------------------

    def _group(self, raw: str | None) -> OkGroup:
        if not raw:
            raise OkApiError(100, "Missing required parameter gid")
        try:
            group = self.world.groups[int(raw)]
        except (ValueError, KeyError):
            raise OkApiError(160, f"Invalid group id {raw}") from None
        if group.state == "deleted":
            raise OkApiError(300, f"Group {raw} not found")
        if group.state == "blocked":
            raise OkApiError(456, f"Group {raw} is blocked")
        if group.state == "closed":
            raise OkApiError(456, f"Group {raw} is closed")
        return group

    def url_get_info(self, p: Mapping[str, str]) -> Any:
        url = p.get("url") or ""
        ref = url.rstrip("/").rpartition("/group/")[2] or url.rstrip("/").rpartition("/")[2]
        for group in self.world.groups.values():
            if ref in (str(group.uid), group.shortname):
                return {
                    "objectId": group.uid,
                    "objectIdEncoded": group.shortname,
                    "objectIdStr": str(group.uid),
                    "type": "GROUP",
                }
        raise OkApiError(300, f"url {url} not found")

    def group_get_info(self, p: Mapping[str, str]) -> Any:
        if not p.get("uids"):
            raise OkApiError(100, "Missing required parameter uids")
        if not p.get("fields"):
            raise OkApiError(100, "Missing required parameter fields")
        out = []
        for raw in p["uids"].split(","):
            group = self.world.groups.get(int(raw)) if raw.strip().isdigit() else None
            if group is None or group.state == "deleted":
                continue
            out.append(
                {
                    "uid": str(group.uid),
                    "name": group.name,
                    "description": f"Сообщество жителей: {group.town}",
                    "members_count": 1000 + group.uid % 5000,
                    "shortname": group.shortname,
                    "access_type": "CLOSED" if group.state == "closed" else "OPEN",
                }
            )
        return out  # the bare array real clients parse (B3)

    def get_topics(self, p: Mapping[str, str]) -> Any:
        group = self._group(p.get("gid"))
        count = max(1, min(100, int(p.get("count") or 20)))
        topics = self.world.live_topics(group.uid)
        anchor = p.get("anchor")
        if anchor:
            key = tuple(int(x) for x in anchor.split("."))  # (created ms, id) of the last one
            topics = [t for t in topics if (round(t.created * 1000), t.id) < key]
        page = topics[:count]
        more = len(topics) > count
        last = page[-1] if page else None
        items = [
            {
                "id": str(t.id),
                "type": "GROUP_THEME",
                "created_ms": round(t.created * 1000),
                "author_ref": t.author_ref,
                "owner_ref": f"group:{group.uid}",
                "media": [{"type": "text", "text": t.text, "text_tokens": [{"text": t.text}]}],
                "discussion_summary": {
                    "comments_count": len(self.world.live_comments(group.uid, t.id))
                },
                "like_summary": {"count": t.likes},
                "reshare_summary": {"count": 0},
            }
            for t in page
        ]
        return {
            "media_topics": items,
            "entities": {"groups": [{"uid": str(group.uid), "name": group.name}]},
            "anchor": f"{round(last.created * 1000)}.{last.id}" if last else None,
            "has_more": more,
        }

    def get_comments(self, p: Mapping[str, str]) -> Any:
        topic_id = p.get("discussionId")
        if not topic_id or not topic_id.isdigit():
            raise OkApiError(100, "Missing required parameter discussionId")
        if p.get("discussionType") != "GROUP_TOPIC":
            raise OkApiError(100, "discussionType must be GROUP_TOPIC")
        group = next((g for g in self.world.groups.values() if int(topic_id) in g.topics), None)
        if group is None or group.topics[int(topic_id)].deleted:
            raise OkApiError(300, f"discussion {topic_id} not found")
        self._group(str(group.uid))
        count = max(1, min(100, int(p.get("count") or 20)))
        comments = self.world.live_comments(group.uid, int(topic_id))
        anchor = p.get("anchor")
        if anchor:
            comments = [c for c in comments if c.id > int(anchor)]
        page = comments[:count]
        return {
            "comments": [
                {
                    "id": str(c.id),
                    "text": c.text,
                    "author_id": c.author_id,
                    "author_type": "USER",
                    "date": ok_date(c.date),
                    **({"reply_to_comment_id": str(c.reply_to)} if c.reply_to else {}),
                }
                for c in page
            ],
            "anchor": str(page[-1].id) if page else None,
            "has_more": len(comments) > count,
            "discussionId": topic_id,
            "discussionType": "GROUP_TOPIC",
            "entities": {"users": [{"uid": c.author_id, "name": "Житель"} for c in page]},
        }

    METHODS: Mapping[str, str] = {
        "url.getInfo": "url_get_info",
        "group.getInfo": "group_get_info",
        "mediatopic.getTopics": "get_topics",
        "discussions.getComments": "get_comments",
    }

    def dispatch(self, params: Mapping[str, str]) -> Any:
        """Check the common parameters and the signature, then run the method."""
        if params.get("application_key") != self.app_key:
            raise OkApiError(101, "No application key")
        if not params.get("sig"):
            raise OkApiError(104, "No signature specified")
        if params["sig"].lower() != expected_sig(params, self.app_secret):
            raise OkApiError(104, "Invalid signature")
        token = params.get("access_token")
        if not token:
            raise OkApiError(453, "Session required")
        if token not in self.tokens:
            raise OkApiError(102, "Session expired")
        method = params.get("method", "")
        name = self.METHODS.get(method)
        if name is None:
            raise OkApiError(3, f"Method {method} not found")
        result: Any = getattr(self, name)(params)
        return result

    # ---- HTTP ------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one API request (GET query or POST form)."""
        params = {k: v for k, v in request.query.items()}
        if request.method == "POST":
            form = await request.post()
            params.update({k: str(v) for k, v in form.items()})
        if "group" in request.match_info:
            params.setdefault(
                "method", f"{request.match_info['group']}.{request.match_info['name']}"
            )
        method = params.get("method", "")
        self.calls.append(method)
        fault = self.faults.take(method, params.get("access_token", ""))
        if fault is not None:
            if fault.kind == "delay":
                await self.sleep(fault.delay)
            elif fault.kind == "drop":
                transport = request.transport
                if transport is not None:
                    transport.close()
                return web.Response(status=500)
            elif fault.kind == "http":
                return web.Response(status=fault.status, text="Bad Gateway")
            elif fault.kind == "error":
                err = OkApiError(fault.error_code, fault.error_msg or "injected")
                return web.json_response(err.body())
        try:
            body: Any = self.dispatch(params)
        except OkApiError as err:
            body = err.body()
        text = json.dumps(body, ensure_ascii=False)
        if fault is not None and fault.kind == "truncate":
            text = text[: max(1, len(text) // 2)]
        return web.Response(text=text, content_type="application/json")

    async def admin(self, request: web.Request) -> web.StreamResponse:
        """Describe the groups (the demo adds them as sources)."""
        return web.json_response(
            {
                "application_key": self.app_key,
                "groups": [
                    {
                        "uid": str(g.uid),
                        "name": g.name,
                        "shortname": g.shortname,
                        "town": g.town,
                        "state": g.state,
                        "url": f"https://ok.ru/group/{g.uid}",
                    }
                    for g in self.world.groups.values()
                ],
            }
        )

    def add_routes(self, app: web.Application) -> None:
        """Serve the API (and ``/_emulator/ok``) on ``app``."""
        app.router.add_route("*", "/fb.do", self.handle)
        app.router.add_route("*", "/api/{group}/{name}", self.handle)
        app.router.add_get("/_emulator/ok", self.admin)

    def create_app(self) -> web.Application:
        """Return an aiohttp app serving only this emulator."""
        app = web.Application()
        self.add_routes(app)
        return app
