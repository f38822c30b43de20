"""The VK methods over the synthetic region, answering with the 5.199 response shapes."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from emulator.vk.errors import VkApiError, bad_param
from emulator.vk.limits import TokenSpec
from emulator.vk.world import Comment, Group, Post, User, World, town_of

#: groups.getById answers a bare array below this version (social-apis.md A1: the switch lies
#: somewhere in 5.132–5.199; 5.194 is the reference's best guess).
GROUPS_OBJECT_SINCE = (5, 194)
#: wall.getComments truncates texts to this many characters unless ``preview_length`` is given
#: (the official schema: "By default, '90'"); ``preview_length=0`` returns full texts.
DEFAULT_PREVIEW_LENGTH = 90
SEARCH_RESULT_CAP = 1000

Params = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the token, its account id, and the API version it asked for."""

    token: TokenSpec
    user_id: int
    version: tuple[int, int]
    now: int

    @property
    def is_user(self) -> bool:
        """Return True for a user token."""
        return self.token.kind == "user"

    def is_member(self, group: Group) -> bool:
        """Return True when the caller's account belongs to the community."""
        return group.id in self.token.follows or group.id == self.token.group_id


def parse_version(raw: str) -> tuple[int, int] | None:
    """Return (major, minor) of a ``v`` parameter such as ``5.199``, or None if malformed."""
    match = re.fullmatch(r"(\d+)\.(\d+)", raw.strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def _int(params: Params, name: str, default: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise bad_param(f"{name} is undefined")
        return default
    try:
        return int(raw)
    except ValueError as err:
        raise bad_param(f"{name} not integer") from err


def _flag(params: Params, name: str) -> bool:
    return params.get(name, "0").strip().lower() in ("1", "true")


def _bounded(params: Params, name: str, default: int, maximum: int, minimum: int = 0) -> int:
    value = _int(params, name, default)
    if value < minimum:
        raise bad_param(f"{name} should be not less than {minimum}")
    return min(value, maximum)


def _normalise(text: str) -> str:
    return text.lower().replace("ё", "е")


class Methods:
    """Every supported method as ``method(params, caller) -> response payload``."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.guids: dict[tuple[int, int, int, str], tuple[int, list[int]]] = {}
        self.table: dict[str, Callable[[Params, Caller], Any]] = {
            "wall.get": self.wall_get,
            "wall.getById": self.wall_get_by_id,
            "wall.getComments": self.wall_get_comments,
            "wall.getComment": self.wall_get_comment,
            "wall.createComment": self.wall_create_comment,
            "groups.getById": self.groups_get_by_id,
            "utils.resolveScreenName": self.utils_resolve_screen_name,
            "newsfeed.get": self.newsfeed_get,
            "newsfeed.getComments": self.newsfeed_get_comments,
            "newsfeed.search": self.newsfeed_search,
        }

    def dispatch(self, method: str, params: Params, caller: Caller) -> Any:
        """Run one method; raise :class:`VkApiError` as VK would."""
        handler = self.table.get(method)
        if handler is None:
            raise VkApiError(3)
        return handler(params, caller)

    # ---- access --------------------------------------------------------------------------

    def readable_wall(self, owner_id: int, caller: Caller) -> Group:
        """Return the community whose wall the caller may read, or raise VK's error for it."""
        if owner_id == 0:
            raise bad_param("owner_id is undefined")
        if owner_id > 0:
            if owner_id in self.world.users:
                raise VkApiError(30)
            raise VkApiError(18)
        group = self.world.groups.get(-owner_id)
        if group is None:
            raise bad_param("owner_id is invalid")
        if group.state in ("deleted", "banned"):
            raise VkApiError(18)
        if group.state == "blocked":
            raise VkApiError(19)
        if group.state == "closed" and not caller.is_member(group):
            raise VkApiError(15, "Access denied: this wall available only for community members")
        if group.state == "private" and not caller.is_member(group):
            raise VkApiError(30)
        return group

    def find_group(self, ref: str) -> Group | None:
        """Return a community by id, ``club<id>``/``public<id>``/``-<id>`` or screen name."""
        ref = ref.strip()
        match = re.fullmatch(r"(?:club|public|event|-)?(\d+)", ref)
        if match is not None:
            return self.world.groups.get(int(match.group(1)))
        gid = self.world.screen_names.get(ref.lower())
        return self.world.groups.get(gid) if gid is not None else None

    def owner_from(self, params: Params) -> int:
        """Return ``owner_id``, or the community named by ``domain``."""
        if params.get("owner_id"):
            return _int(params, "owner_id")
        domain = params.get("domain")
        if domain:
            group = self.find_group(domain)
            if group is None:
                raise bad_param("domain is invalid")
            return group.owner_id
        raise bad_param("owner_id is undefined")

    # ---- rendering -----------------------------------------------------------------------

    def render_post(
        self, group: Group, post: Post, caller: Caller, *, feed: bool = False
    ) -> dict[str, Any]:
        """Return a post object as wall.get (or, with ``feed``, newsfeed.get) shows it."""
        comments: dict[str, Any] = {"count": self.world.comments_count(group, post)}
        if caller.token.kind != "service":
            comments["can_post"] = 0 if post.comments_closed else 1
        comments["groups_can_post"] = not post.comments_closed
        item: dict[str, Any] = {"inner_type": "wall_wallpost"} if not feed else {}
        if feed:
            item.update({"source_id": post.owner_id, "post_id": post.id})
        item.update(
            {
                "comments": comments,
                "marked_as_ads": int(post.marked_as_ads),
                "hash": self.world.post_hash(post),
                "type": "post",
                "attachments": [],
                "date": post.date,
                "from_id": post.from_id,
                "is_favorite": False,
                "likes": {
                    "can_like": int(caller.is_user),
                    "count": post.likes,
                    "user_likes": 0,
                    "can_publish": int(caller.is_user),
                    "repost_disabled": False,
                },
                "post_source": {"type": "vk"},
                "post_type": "post",
                "reposts": {"count": post.reposts, "user_reposted": 0},
                "text": post.text,
                "views": {"count": post.views},
                "donut": {"is_donut": False},
                "short_text_rate": 0.8,
            }
        )
        if not feed:
            item["id"] = post.id
            item["owner_id"] = post.owner_id
            if group.fixed_post == post.id:
                item["is_pinned"] = 1
        if post.edited is not None:
            item["edited"] = post.edited
        if post.signer_id is not None:
            item["signer_id"] = post.signer_id
        if post.geo is not None:
            lat, lon, title = post.geo
            item["geo"] = {
                "type": "point",
                "coordinates": f"{lat} {lon}",
                "place": {
                    "id": 0,
                    "title": title,
                    "latitude": lat,
                    "longitude": lon,
                    "created": 0,
                    "icon": "https://vk.com/images/places/place.png",
                    "country": "Россия",
                    "city": group.town,
                },
                "showmap": 1,
            }
        return item

    def render_comment(
        self,
        group: Group,
        comment: Comment,
        caller: Caller,
        *,
        need_likes: bool,
        preview_length: int,
        thread_items: int | None,
    ) -> dict[str, Any]:
        """Return a comment object; ``thread_items`` None means a reply (no ``thread``)."""
        parents = [] if comment.thread_root is None else [comment.thread_root]
        thread: dict[str, Any] | None = None
        if thread_items is not None:
            replies = self.world.replies(group, comment)
            thread = {
                "count": len(replies),
                "items": [
                    self.render_comment(
                        group,
                        reply,
                        caller,
                        need_likes=need_likes,
                        preview_length=preview_length,
                        thread_items=None,
                    )
                    for reply in replies[:thread_items]
                ],
                "can_post": not group.posts[comment.post_id].comments_closed,
                "show_reply_button": True,
                "groups_can_post": True,
            }
        if comment.deleted:
            stub: dict[str, Any] = {
                "id": comment.id,
                "parents_stack": parents,
                "date": comment.date,
            }
            if thread is not None:
                stub["thread"] = thread
            stub["deleted"] = True
            return stub
        text = comment.text
        if preview_length > 0 and len(text) > preview_length:
            text = text[:preview_length]
        item: dict[str, Any] = {
            "id": comment.id,
            "from_id": comment.from_id,
            "post_id": comment.post_id,
            "owner_id": comment.owner_id,
            "parents_stack": parents,
            "date": comment.date,
            "text": text,
        }
        if need_likes:
            item["likes"] = {
                "can_like": int(caller.is_user),
                "count": comment.likes,
                "user_likes": 0,
                "can_publish": int(caller.is_user),
            }
        if comment.reply_to_comment is not None:
            if comment.reply_to_user is not None:
                item["reply_to_user"] = comment.reply_to_user
            item["reply_to_comment"] = comment.reply_to_comment
        if thread is not None:
            item["thread"] = thread
        return item

    def render_group(
        self, group: Group, caller: Caller, fields: Iterable[str] = ()
    ) -> dict[str, Any]:
        """Return a community object with the requested optional ``fields``."""
        is_closed = {"closed": 1, "private": 2}.get(group.state, 0)
        photo = f"https://sun9-{group.id % 90}.userapi.com/impg/c{group.id}/emulated.jpg"
        item: dict[str, Any] = {
            "id": group.id,
            "name": group.name,
            "screen_name": group.screen_name,
            "is_closed": is_closed,
            "type": group.type,
        }
        if group.state in ("deleted", "banned"):
            item["deactivated"] = group.state
        admin = caller.token.group_id == group.id
        item.update(
            {
                "is_admin": int(admin),
                "is_member": int(caller.is_member(group)),
                "is_advertiser": 0,
                "photo_50": f"{photo}?size=50x50",
                "photo_100": f"{photo}?size=100x100",
                "photo_200": f"{photo}?size=200x200",
            }
        )
        if admin:
            item["admin_level"] = 3
        town = town_of(group)
        optional: dict[str, Any] = {
            "members_count": group.members_count,
            "description": group.description,
            "fixed_post": group.fixed_post or 0,
            "activity": "Городское сообщество",
            "city": {"id": 100 + zlib.crc32(town.slug.encode()) % 9000, "title": town.name},
            "country": {"id": 1, "title": "Россия"},
            "verified": 0,
            "wall": 1 if group.state == "open" else 3,
            "can_see_all_posts": 1,
            "can_post": 0,
            "site": "",
            "status": "",
        }
        for name in fields:
            if name in optional:
                item[name] = optional[name]
        return item

    @staticmethod
    def render_user(user: User) -> dict[str, Any]:
        """Return a profile object."""
        return {
            "id": user.id,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "can_access_closed": True,
            "is_closed": False,
            "sex": user.sex,
            "screen_name": f"id{user.id}",
            "photo_50": f"https://sun9-1.userapi.com/impg/u{user.id}/emulated.jpg?size=50x50",
            "photo_100": f"https://sun9-1.userapi.com/impg/u{user.id}/emulated.jpg?size=100x100",
            "online": 0,
        }

    def extended(
        self, owner_ids: Iterable[int], caller: Caller, fields: Iterable[str] = ()
    ) -> dict[str, list[dict[str, Any]]]:
        """Return ``profiles`` and ``groups`` for the authors and owners named by ids."""
        profiles: dict[int, dict[str, Any]] = {}
        groups: dict[int, dict[str, Any]] = {}
        wanted = list(fields)
        for oid in owner_ids:
            if oid > 0 and oid in self.world.users and oid not in profiles:
                profiles[oid] = self.render_user(self.world.users[oid])
            elif oid < 0 and -oid in self.world.groups and -oid not in groups:
                groups[-oid] = self.render_group(self.world.groups[-oid], caller, wanted)
        return {"profiles": list(profiles.values()), "groups": list(groups.values())}

    @staticmethod
    def _fields(params: Params) -> list[str]:
        return [f.strip() for f in params.get("fields", "").split(",") if f.strip()]

    # ---- wall ----------------------------------------------------------------------------

    def wall_get(self, params: Params, caller: Caller) -> dict[str, Any]:
        """Answer wall.get: count and a page of the wall, the pinned post first."""
        group = self.readable_wall(self.owner_from(params), caller)
        offset = _bounded(params, "offset", 0, 10**9)
        count = _bounded(params, "count", 20, 100)
        flt = params.get("filter", "all") or "all"
        posts = self.world.wall(group)
        if flt == "owner":
            posts = [p for p in posts if p.from_id == group.owner_id]
        elif flt == "others":
            posts = [p for p in posts if p.from_id != group.owner_id]
        elif flt != "all":
            posts = []
        page = posts[offset : offset + count]
        response: dict[str, Any] = {
            "count": len(posts),
            "items": [self.render_post(group, p, caller) for p in page],
        }
        if _flag(params, "extended"):
            ids = [group.owner_id]
            for p in page:
                ids.append(p.from_id)
                if p.signer_id:
                    ids.append(p.signer_id)
            response.update(self.extended(ids, caller, self._fields(params)))
        return response

    def wall_get_by_id(self, params: Params, caller: Caller) -> dict[str, Any]:
        """Answer wall.getById: the named posts that exist and may be read, in request order."""
        raw = params.get("posts", "")
        refs = [r.strip() for r in raw.split(",") if r.strip()]
        if not refs:
            raise bad_param("posts is undefined")
        items: list[dict[str, Any]] = []
        ids: list[int] = []
        for ref in refs[:100]:
            match = re.fullmatch(r"(-?\d+)_(\d+)", ref)
            if match is None:
                continue
            owner_id, post_id = int(match.group(1)), int(match.group(2))
            try:
                group = self.readable_wall(owner_id, caller)
            except VkApiError:
                continue
            post = group.posts.get(post_id)
            if post is None or post.deleted:
                continue
            items.append(self.render_post(group, post, caller))
            ids.extend((group.owner_id, post.from_id))
        response: dict[str, Any] = {"items": items}
        if _flag(params, "extended"):
            response.update(self.extended(ids, caller, self._fields(params)))
        return response

    def _post_for_comments(self, params: Params, caller: Caller) -> tuple[Group, Post]:
        group = self.readable_wall(_int(params, "owner_id"), caller)
        post = group.posts.get(_int(params, "post_id"))
        if post is None or post.deleted:
            raise bad_param("post_id is invalid")
        if post.comments_closed:
            raise VkApiError(212)
        return group, post

    def wall_get_comments(self, params: Params, caller: Caller) -> dict[str, Any]:
        """Answer wall.getComments: top-level comments with threads, or one thread's replies."""
        group, post = self._post_for_comments(params, caller)
        offset = _bounded(params, "offset", 0, 10**9)
        count = _bounded(params, "count", 10, 100)
        sort = params.get("sort", "asc") or "asc"
        preview = _bounded(params, "preview_length", DEFAULT_PREVIEW_LENGTH, 10**6)
        thread_items = _bounded(params, "thread_items_count", 0, 10)
        need_likes = _flag(params, "need_likes")
        comment_ref = params.get("comment_id")
        items: list[Comment]
        if comment_ref:
            top = group.comments.get(_int(params, "comment_id"))
            if top is None or top.post_id != post.id:
                raise bad_param("comment_id is invalid")
            if top.thread_root is not None:
                top = group.comments[top.thread_root]
            items = self.world.replies(group, top)
            total = len(items)
            inline: int | None = None
        else:
            items = self.world.top_level(group, post)
            total = self.world.comments_count(group, post)
            inline = thread_items
        if sort == "desc":
            items = list(reversed(items))
        start = params.get("start_comment_id")
        if start:
            start_id = _int(params, "start_comment_id")
            position = next(
                (
                    i
                    for i, c in enumerate(items)
                    if (c.id >= start_id if sort != "desc" else c.id <= start_id)
                ),
                len(items),
            )
            offset += position
        page = items[offset : offset + count]
        response: dict[str, Any] = {
            "count": total,
            "items": [
                self.render_comment(
                    group,
                    c,
                    caller,
                    need_likes=need_likes,
                    preview_length=preview,
                    thread_items=inline,
                )
                for c in page
            ],
            "current_level_count": len(items),
            "can_post": not post.comments_closed and caller.token.kind != "service",
            "show_reply_button": True,
            "groups_can_post": True,
        }
        if _flag(params, "extended"):
            ids = [group.owner_id, post.from_id]
            for c in page:
                ids.append(c.from_id)
                ids.extend(group.comments[r].from_id for r in c.reply_ids[:thread_items])
            response.update(self.extended(ids, caller, self._fields(params)))
            response["post_author_id"] = post.from_id
        return response

    def wall_get_comment(self, params: Params, caller: Caller) -> dict[str, Any]:
        """Answer wall.getComment: one comment by id."""
        group = self.readable_wall(_int(params, "owner_id"), caller)
        comment = group.comments.get(_int(params, "comment_id"))
        if comment is None or comment.deleted or group.posts[comment.post_id].deleted:
            raise bad_param("comment_id is invalid")
        post = group.posts[comment.post_id]
        item = self.render_comment(
            group,
            comment,
            caller,
            need_likes=True,
            preview_length=0,
            thread_items=None if comment.thread_root is not None else 0,
        )
        response: dict[str, Any] = {
            "items": [item],
            "can_post": not post.comments_closed,
            "show_reply_button": True,
            "groups_can_post": True,
        }
        if _flag(params, "extended"):
            response.update(
                self.extended([comment.from_id, group.owner_id], caller, self._fields(params))
            )
            response["post_author_id"] = post.from_id
        return response

    def wall_create_comment(self, params: Params, caller: Caller) -> dict[str, Any]:
        """Answer wall.createComment: post a comment once per ``guid`` and return its id."""
        owner_id = _int(params, "owner_id")
        group = self.readable_wall(owner_id, caller)
        post = group.posts.get(_int(params, "post_id"))
        if post is None or post.deleted:
            raise bad_param("post_id is invalid")
        from_group = _int(params, "from_group", 0)
        if caller.token.kind == "community":
            if from_group not in (0, caller.token.group_id):
                raise VkApiError(15, "Access denied: you can post only as your own community")
            author = -(caller.token.group_id or 0)
        elif from_group:
            if from_group != caller.token.group_id:
                raise VkApiError(15, "Access denied: you are not an administrator of this group")
            author = -from_group
        else:
            author = caller.user_id
        guid = params.get("guid", "")
        key = (author, group.id, post.id, guid)
        if guid and key in self.guids:
            comment_id, parents = self.guids[key]
            return {"comment_id": comment_id, "parents_stack": list(parents)}
        if post.comments_closed:
            raise VkApiError(213)
        message = params.get("message", "")
        if not message.strip() and not params.get("attachments") and not params.get("sticker_id"):
            raise bad_param("message is empty or invalid")
        reply_to = params.get("reply_to_comment")
        parent: Comment | None = None
        if reply_to:
            parent = group.comments.get(_int(params, "reply_to_comment"))
            if parent is None or parent.deleted or parent.post_id != post.id:
                raise bad_param("reply_to_comment is invalid")
        for existing in group.comments.values():
            if (
                existing.post_id == post.id
                and existing.from_id == author
                and existing.text == message
                and not existing.deleted
            ):
                raise VkApiError(9)
        comment = self.world.publish_comment(
            group.id,
            post.id,
            message,
            from_id=author,
            reply_to_comment=parent.id if parent else None,
            date=caller.now,
        )
        parents = [] if comment.thread_root is None else [comment.thread_root]
        if guid:
            self.guids[key] = (comment.id, parents)
        return {"comment_id": comment.id, "parents_stack": parents}

    # ---- groups and utils ----------------------------------------------------------------

    def groups_get_by_id(self, params: Params, caller: Caller) -> Any:
        """Answer groups.getById: ``{"groups", "profiles"}`` (a bare array before 5.194)."""
        raw = params.get("group_ids") or params.get("group_id") or ""
        refs = [r for r in re.split(r"[,\s]+", raw) if r]
        if not refs and caller.token.group_id:
            refs = [str(caller.token.group_id)]
        fields = self._fields(params)
        seen: set[int] = set()
        groups: list[dict[str, Any]] = []
        for ref in refs[:500]:
            group = self.find_group(ref)
            if group is None or group.id in seen:
                continue
            seen.add(group.id)
            groups.append(self.render_group(group, caller, fields))
        if not groups:
            raise bad_param("group_ids is undefined" if not refs else "invalid group_ids")
        if caller.version < GROUPS_OBJECT_SINCE:
            return groups
        return {"groups": groups, "profiles": []}

    def utils_resolve_screen_name(self, params: Params, caller: Caller) -> Any:
        """Answer utils.resolveScreenName: ``{"object_id", "type"}`` or ``[]`` when unknown."""
        name = params.get("screen_name", "").strip().lower()
        if not name:
            raise bad_param("screen_name is undefined")
        name = re.sub(r"^(?:https?://)?(?:m\.)?vk\.(?:com|ru)/", "", name).strip("/")
        user = re.fullmatch(r"id(\d+)", name)
        if user is not None and int(user.group(1)) in self.world.users:
            return {"object_id": int(user.group(1)), "type": "user"}
        group = self.find_group(name) if not name.isdigit() else None
        if group is not None:
            return {"object_id": group.id, "type": "group"}
        return []

    # ---- newsfeed ------------------------------------------------------------------------

    def _feed_groups(self, params: Params, caller: Caller) -> list[Group]:
        raw = params.get("source_ids", "")
        if raw.strip():
            out: list[Group] = []
            for ref in raw.split(","):
                ref = ref.strip()
                if not ref or ref.isdigit():  # users' own feeds are not modelled
                    continue
                group = self.find_group(ref[1:] if ref.startswith("g") else ref)
                if group is not None:
                    out.append(group)
        else:
            out = [self.world.groups[g] for g in caller.token.follows if g in self.world.groups]
        return [
            g
            for g in out
            if g.state == "open" or (g.state in ("closed", "private") and caller.is_member(g))
        ]

    @staticmethod
    def _cursor(raw: str) -> tuple[int, int, int] | None:
        match = re.fullmatch(r"\d+/(\d+)_(-?\d+)_(\d+)", raw.strip())
        if match is None:
            return None
        return int(match.group(1)), int(match.group(2)), int(match.group(3))

    def newsfeed_get(self, params: Params, caller: Caller) -> dict[str, Any]:
        """Answer newsfeed.get (filters=post): new posts of the followed communities."""
        filters = params.get("filters", "post")
        if "post" not in [f.strip() for f in filters.split(",")]:
            return {"items": [], "profiles": [], "groups": []}
        count = _bounded(params, "count", 50, 100)
        start_time = _int(params, "start_time", 0)
        end_time = _int(params, "end_time", caller.now)
        entries: list[tuple[tuple[int, int, int], Group, Post]] = []
        for group in self._feed_groups(params, caller):
            for post in group.posts.values():
                if not post.deleted and start_time <= post.date <= end_time:
                    entries.append(((post.date, post.owner_id, post.id), group, post))
        entries.sort(key=lambda e: e[0], reverse=True)
        served = 0
        cursor_raw = params.get("start_from", "")
        if cursor_raw:
            cursor = self._cursor(cursor_raw)
            if cursor is None:
                raise bad_param("start_from is invalid")
            served = int(cursor_raw.split("/", 1)[0])
            entries = [e for e in entries if e[0] < cursor]
        page = entries[:count]
        response: dict[str, Any] = {
            "items": [self.render_post(g, p, caller, feed=True) for _, g, p in page],
        }
        ids = [p.from_id for _, _, p in page] + [g.owner_id for _, g, _ in page]
        response.update(self.extended(ids, caller, self._fields(params)))
        if len(entries) > len(page):
            date, owner, pid = page[-1][0]
            response["next_from"] = f"{served + len(page)}/{date}_{owner}_{pid}"
        return response

    def newsfeed_get_comments(self, params: Params, caller: Caller) -> dict[str, Any]:
        """Answer newsfeed.getComments: feed posts with comments newer than ``start_time``."""
        count = _bounded(params, "count", 30, 100)
        last = _bounded(params, "last_comments_count", 0, 10)
        start_time = _int(params, "start_time", caller.now - 86_400)
        end_time = _int(params, "end_time", caller.now)
        entries: list[tuple[tuple[int, int, int], Group, Post, list[Comment]]] = []
        for group in self._feed_groups(params, caller):
            for post in group.posts.values():
                if post.deleted or post.comments_closed:
                    continue
                visible: list[Comment] = []
                for cid in post.top_comment_ids:
                    top = group.comments[cid]
                    if not top.deleted:
                        visible.append(top)
                    visible.extend(self.world.replies(group, top))
                if not visible:
                    continue
                latest = max(c.date for c in visible)
                if start_time <= latest <= end_time:
                    visible.sort(key=lambda c: (c.date, c.id))
                    entries.append(((latest, post.owner_id, post.id), group, post, visible))
        entries.sort(key=lambda e: e[0], reverse=True)
        served = 0
        cursor_raw = params.get("start_from", "")
        if cursor_raw:
            cursor = self._cursor(cursor_raw)
            if cursor is None:
                raise bad_param("start_from is invalid")
            served = int(cursor_raw.split("/", 1)[0])
            entries = [e for e in entries if e[0] < cursor]
        page = entries[:count]
        items: list[dict[str, Any]] = []
        ids: list[int] = []
        for _, group, post, visible in page:
            item = self.render_post(group, post, caller, feed=True)
            item["comments"]["list"] = [
                self.render_comment(
                    group, c, caller, need_likes=True, preview_length=0, thread_items=None
                )
                for c in (visible[-last:] if last else [])
            ]
            items.append(item)
            ids.extend([group.owner_id, post.from_id] + [c.from_id for c in visible[-last:]])
        response: dict[str, Any] = {"items": items}
        response.update(self.extended(ids, caller, self._fields(params)))
        if len(entries) > len(page):
            date, owner, pid = page[-1][0]
            response["next_from"] = f"{served + len(page)}/{date}_{owner}_{pid}"
        return response

    def newsfeed_search(self, params: Params, caller: Caller) -> dict[str, Any]:
        """Answer newsfeed.search over open communities: newest first, first 1000 reachable."""
        words = [
            _normalise(w).lstrip("#")
            for w in re.findall(r"#?[\w-]+", params.get("q", ""), flags=re.UNICODE)
        ]
        stems = [w[:-2] if len(w) > 5 else w for w in words if w]
        count = _bounded(params, "count", 30, 200)
        start_time = _int(params, "start_time", caller.now - 86_400)
        end_time = _int(params, "end_time", caller.now)
        matches: list[tuple[Group, Post]] = []
        if stems:
            for group in self.world.groups.values():
                if group.state != "open":
                    continue
                for post in group.posts.values():
                    if post.deleted or not start_time <= post.date <= end_time:
                        continue
                    text = _normalise(post.text)
                    if all(stem in text for stem in stems):
                        matches.append((group, post))
        matches.sort(key=lambda gp: (gp[1].date, gp[1].owner_id, gp[1].id), reverse=True)
        total = len(matches)
        reachable = matches[:SEARCH_RESULT_CAP]
        offset = 0
        start = params.get("start_from", "")
        if start:
            head = start.split("/", 1)[0]
            if not head.isdigit():
                raise bad_param("start_from is invalid")
            offset = int(head)
        page = reachable[offset : offset + count]
        response: dict[str, Any] = {
            "items": [self.render_post(g, p, caller) for g, p in page],
            "count": len(reachable),
            "total_count": total,
        }
        if offset + len(page) < len(reachable) and page:
            last = page[-1][1]
            response["next_from"] = f"{offset + len(page)}/{last.owner_id}_{last.id}"
        if _flag(params, "extended"):
            ids = [p.from_id for _, p in page] + [g.owner_id for g, _ in page]
            response.update(self.extended(ids, caller, self._fields(params)))
        return response
