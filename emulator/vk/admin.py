"""The ``/_emulator/`` endpoints: live changes, faults, statistics and the ground truth."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from functools import partial
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator.vk.faults import Fault, FaultRates
from emulator.vk.world import GROUP_STATES, NotFound

if TYPE_CHECKING:
    from emulator.vk.server import VkEmulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_dumps = partial(json.dumps, ensure_ascii=False)


def _ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except json.JSONDecodeError as err:
        raise ValueError(f"body is not JSON: {err}") from err
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def _guard(handler: Handler) -> Handler:
    """Turn the control API's NotFound/ValueError into 404/400 JSON answers."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except NotFound as err:
            return _ok({"error": str(err)}, status=404)
        except (ValueError, KeyError, TypeError) as err:
            return _ok({"error": f"bad request: {err}"}, status=400)

    return wrapped


def _int(data: dict[str, Any], key: str) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{key} must be an integer")
    return int(value)


def add_admin_routes(app: web.Application, emu: VkEmulator) -> None:
    """Register the admin endpoints for one emulator."""

    async def overview(request: web.Request) -> web.StreamResponse:
        groups = [
            {
                "id": g.id,
                "name": g.name,
                "screen_name": g.screen_name,
                "state": g.state,
                "activity_per_day": round(g.activity, 3),
                "fixed_post": g.fixed_post,
                "posts": sum(1 for p in g.posts.values() if not p.deleted),
            }
            for g in emu.world.groups.values()
        ]
        tokens = [
            {
                "token": t.token,
                "kind": t.kind,
                "follows": len(t.follows),
                "group_id": t.group_id,
                "revoked": t.token in emu.revoked,
            }
            for t in emu.tokens.values()
        ]
        return _ok(
            {
                "now": emu.clock(),
                "official_group_id": emu.world.official_group_id,
                "groups": groups,
                "tokens": tokens,
            }
        )

    async def publish_post(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        options: dict[str, Any] = {}
        if data.get("from_id") is not None:
            options["from_id"] = _int(data, "from_id")
        if data.get("date") is not None:
            options["date"] = _int(data, "date")
        post = emu.publish_post(_int(data, "group_id"), str(data["text"]), **options)
        return _ok({"owner_id": post.owner_id, "post_id": post.id, "date": post.date}, 201)

    async def publish_comment(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        options: dict[str, Any] = {}
        for key in ("from_id", "reply_to_comment", "date"):
            if data.get(key) is not None:
                options[key] = _int(data, key)
        comment = emu.publish_comment(
            _int(data, "group_id"), _int(data, "post_id"), str(data["text"]), **options
        )
        return _ok(
            {
                "owner_id": comment.owner_id,
                "comment_id": comment.id,
                "parents_stack": [] if comment.thread_root is None else [comment.thread_root],
            },
            201,
        )

    async def edit(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        group_id = _int(data, "group_id")
        if "comment_id" in data:
            emu.edit_comment(group_id, _int(data, "comment_id"), str(data["text"]))
        else:
            emu.edit_post(group_id, _int(data, "post_id"), str(data["text"]))
        return _ok({"ok": True})

    async def delete(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        group_id = _int(data, "group_id")
        if "comment_id" in data:
            emu.delete_comment(group_id, _int(data, "comment_id"))
        else:
            emu.delete_post(group_id, _int(data, "post_id"))
        return _ok({"ok": True})

    async def pin(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        post_id = None if data.get("post_id") is None else _int(data, "post_id")
        emu.pin_post(_int(data, "group_id"), post_id)
        return _ok({"ok": True})

    async def group_state(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        state = str(data["state"])
        if state not in GROUP_STATES:
            raise ValueError(f"state must be one of {GROUP_STATES}")
        emu.set_group_state(_int(data, "group_id"), state)
        return _ok({"ok": True})

    async def close_comments(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        emu.close_comments(
            _int(data, "group_id"), _int(data, "post_id"), bool(data.get("closed", True))
        )
        return _ok({"ok": True})

    async def faults_get(request: web.Request) -> web.StreamResponse:
        return _ok(
            {
                "pending": [f.as_json() for f in emu.faults.pending()],
                "fired": [list(item) for item in emu.faults.fired],
            }
        )

    async def faults_post(request: web.Request) -> web.StreamResponse:
        fault = emu.faults.add(Fault.from_json(await _body(request)))
        return _ok(fault.as_json(), 201)

    async def faults_delete(request: web.Request) -> web.StreamResponse:
        emu.clear_faults()
        return _ok({"ok": True})

    async def rates_get(request: web.Request) -> web.StreamResponse:
        return _ok({"rates": emu.fault_rates.as_json(), "fired": dict(emu.random_faults.fired)})

    async def rates_put(request: web.Request) -> web.StreamResponse:
        rates = emu.set_fault_rates(FaultRates.from_json(await _body(request)))
        return _ok(rates.as_json())

    async def rates_delete(request: web.Request) -> web.StreamResponse:
        emu.set_fault_rates()
        return _ok({"ok": True})

    async def stats(request: web.Request) -> web.StreamResponse:
        return _ok(
            {
                "tokens": {token: s.as_json() for token, s in emu.stats.items()},
                "transport_faults": dict(emu.transport_faults),
                "random_faults": dict(emu.random_faults.fired),
            }
        )

    async def truth(request: web.Request) -> web.StreamResponse:
        raw = request.query.get("group_id")
        group_id = int(raw) if raw else None
        return _ok(
            {
                "posts": [asdict(p) for p in emu.visible_posts(group_id)],
                "comments": [asdict(c) for c in emu.visible_comments(group_id)],
            }
        )

    async def activity(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        until = float(data["until"]) if data.get("until") is not None else None
        published = emu.advance_activity(until)
        return _ok({"published": [asdict(p) for p in published]})

    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/_emulator/", overview),
        ("POST", "/_emulator/posts", publish_post),
        ("POST", "/_emulator/comments", publish_comment),
        ("POST", "/_emulator/edit", edit),
        ("POST", "/_emulator/delete", delete),
        ("POST", "/_emulator/pin", pin),
        ("POST", "/_emulator/group_state", group_state),
        ("POST", "/_emulator/close_comments", close_comments),
        ("GET", "/_emulator/faults", faults_get),
        ("POST", "/_emulator/faults", faults_post),
        ("DELETE", "/_emulator/faults", faults_delete),
        ("GET", "/_emulator/fault_rates", rates_get),
        ("PUT", "/_emulator/fault_rates", rates_put),
        ("DELETE", "/_emulator/fault_rates", rates_delete),
        ("GET", "/_emulator/stats", stats),
        ("GET", "/_emulator/truth", truth),
        ("POST", "/_emulator/activity", activity),
    ]
    for verb, path, handler in routes:
        app.router.add_route(verb, path, _guard(handler))
