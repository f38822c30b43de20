"""A small fake VK API on loopback, with switches to misbehave, for the client's own tests."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["FakeVk", "Fault"]


@dataclass
class Fault:
    """One injected misbehaviour, consumed by the next matching request."""

    kind: str  # "error", "status", "truncated", "slow", "disconnect", "garbage", "nested"
    code: int = 0
    message: str = ""
    method: str | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeVk:
    """State of the fake: walls, comments, groups, injected faults and a request log."""

    walls: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pinned: dict[int, int] = field(default_factory=dict)
    comments: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    guids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> kind; empty: any token
    before_response: Callable[[str, dict[str, str]], None] | None = None
    #: ``wall.getComments`` of these (owner, post, thread comment id or 0) fail with the code
    #: (10: "Internal server error"), inside ``execute`` too, until removed.
    broken: dict[tuple[int, int, int], int] = field(default_factory=dict)
    next_id: int = 10_000
    #: At most this many items per ``wall.get`` / ``wall.getComments`` page, whatever ``count``
    #: asked (VK documents ``count`` as a maximum; real pages come back short at times).
    page_cap: int | None = None

    # ------------------------------------------------------------------ app

    def app(self) -> web.Application:
        """Return the aiohttp application serving ``/method/<name>``."""
        app = web.Application()
        app.router.add_post("/method/{name}", self._handle)
        return app

    def fault(self, kind: str, **kwargs: Any) -> None:
        """Queue a fault for the next request (of ``method``, when given)."""
        self.faults.append(Fault(kind, **kwargs))

    def _take_fault(self, method: str) -> Fault | None:
        for i, fault in enumerate(self.faults):
            if fault.method in (None, method):
                return self.faults.pop(i)
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["name"]
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.requests.append((method, form))
        fault = self._take_fault(method)
        if fault is not None:
            if fault.kind == "slow":
                await asyncio.sleep(fault.seconds)
            elif fault.kind == "status":
                return web.Response(status=fault.code, text="Bad Gateway")
            elif fault.kind == "truncated":
                return web.Response(text='{"response": {"count": 3, "items": [{"id"')
            elif fault.kind == "garbage":
                return web.Response(text="<html>502</html>")
            elif fault.kind == "nested":  # valid JSON deeper than any decoder's recursion
                return web.Response(text='{"response": ' + "[" * 50_000 + "]" * 50_000 + "}")
            elif fault.kind == "disconnect":
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            elif fault.kind == "error":
                return self._error(method, fault.code, fault.message, form, **fault.extra)
        if self.tokens and self.tokens.get(form.get("access_token", "")) is None:
            return self._error(method, 5, "User authorization failed: invalid access_token (4).")
        if self.before_response is not None:
            self.before_response(method, form)
        if method == "execute":
            return web.json_response(self._execute(form["code"]))
        try:
            return web.json_response({"response": self.dispatch(method, form)})
        except _ApiError as err:
            return self._error(method, err.code, err.message, form)

    def _error(
        self, method: str, code: int, message: str, form: dict[str, str] | None = None, **extra: Any
    ) -> web.Response:
        params = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
        params += [{"key": k, "value": v} for k, v in (form or {}).items()]
        body = {
            "error": {
                "error_code": code,
                "error_msg": message or f"error {code}",
                "request_params": params,
                **extra,
            }
        }
        return web.json_response(body)

    def _execute(self, code: str) -> dict[str, Any]:
        calls = re.findall(r"API\.([a-zA-Z]+\.[a-zA-Z]+)\((\{.*?\})\)(?=,API\.|\];)", code)
        results: list[Any] = []
        errors: list[dict[str, Any]] = []
        for method, args in calls:
            params = {k: str(v) for k, v in json.loads(args).items()}
            fault = self._take_fault(method)
            try:
                if fault is not None and fault.kind == "error":
                    raise _ApiError(fault.code, fault.message or f"error {fault.code}")
                results.append(self.dispatch(method, params))
            except _ApiError as err:
                results.append(False)
                errors.append({"method": method, "error_code": err.code, "error_msg": err.message})
        body: dict[str, Any] = {"response": results}
        if errors:
            errors.append(
                {"method": "execute", **{k: errors[0][k] for k in ("error_code", "error_msg")}}
            )
            body["execute_errors"] = errors
        return body

    # ------------------------------------------------------------------ methods

    def _cap(self, count: int) -> int:
        return count if self.page_cap is None else min(count, self.page_cap)

    def dispatch(self, method: str, p: dict[str, str]) -> Any:
        """Answer one API method."""
        if method == "wall.get":
            owner = int(p["owner_id"])
            if owner not in self.walls:
                raise _ApiError(15, "Access denied: wall is disabled")
            posts = sorted(
                (x for x in self.walls[owner] if not x.get("_deleted")),
                key=lambda x: -x["id"],
            )
            pinned = self.pinned.get(owner)
            if pinned is not None:
                top = [dict(x, is_pinned=1) for x in posts if x["id"] == pinned]
                posts = top + [x for x in posts if x["id"] != pinned]
            offset, count = int(p.get("offset", 0)), self._cap(int(p.get("count", 20)))
            items = [_public(x) for x in posts[offset : offset + count]]
            return {"count": len(posts), "items": items}
        if method == "wall.getById":
            out = []
            for ref in p["posts"].split(","):
                owner_s, post_s = ref.split("_")
                for post in self.walls.get(int(owner_s), []):
                    if post["id"] == int(post_s) and not post.get("_deleted"):
                        out.append(_public(post))
            return {"items": out}
        if method == "wall.getComments":
            key = (int(p["owner_id"]), int(p["post_id"]))
            broken = self.broken.get((*key, int(p.get("comment_id") or 0)))
            if broken is not None:
                raise _ApiError(broken, "Internal server error")
            if key not in self.comments:
                raise _ApiError(212, "Access to post comments denied")
            level = self.comments[key]
            if p.get("comment_id"):
                parent = next(c for c in level if c["id"] == int(p["comment_id"]))
                level = parent.get("_replies", [])
            offset, count = int(p.get("offset", 0)), self._cap(int(p.get("count", 10)))
            inline = int(p.get("thread_items_count", 0))
            items = []
            for c in level[offset : offset + count]:
                item = _public(c)
                replies = c.get("_replies", [])
                if not p.get("comment_id"):
                    item["thread"] = {
                        "count": len(replies),
                        "items": [_public(r) for r in replies[:inline]],
                    }
                items.append(item)
            return {"count": len(level), "current_level_count": len(level), "items": items}
        if method == "groups.getById":
            out = [self.groups[g] for g in p["group_ids"].split(",") if g in self.groups]
            if not out:
                raise _ApiError(100, "One of the parameters specified was missing or invalid")
            return {"groups": out, "profiles": []}
        if method == "utils.resolveScreenName":
            group = self.groups.get(p["screen_name"])
            return {"object_id": group["id"], "type": "group"} if group else []
        if method == "wall.createComment":
            guid = p.get("guid", "")
            if guid in self.guids:
                return {"comment_id": self.guids[guid], "parents_stack": []}
            self.next_id += 1
            key = (int(p["owner_id"]), int(p["post_id"]))
            comment = {
                "id": self.next_id,
                "from_id": -int(p.get("from_group", 0) or 0),
                "date": 1_700_000_000,
                "text": p["message"],
                "parents_stack": [],
            }
            reply_to = p.get("reply_to_comment")
            level = self.comments.setdefault(key, [])
            if reply_to:
                parent = next(c for c in level if c["id"] == int(reply_to))
                comment["parents_stack"] = [parent["id"]]
                parent.setdefault("_replies", []).append(comment)
            else:
                level.append(comment)
            self.guids[guid] = self.next_id
            return {"comment_id": self.next_id, "parents_stack": comment["parents_stack"]}
        if method in ("newsfeed.get", "newsfeed.search", "newsfeed.getComments"):
            items = []
            for owner, posts in self.walls.items():
                for post in posts:
                    items.append(
                        {
                            "type": "post",
                            "source_id": owner,
                            "post_id": post["id"],
                            **{k: v for k, v in _public(post).items() if k != "id"},
                        }
                    )
            items.sort(key=lambda x: -x["date"])
            return {"items": items, "next_from": ""}
        raise _ApiError(3, "Unknown method passed")


class _ApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}
