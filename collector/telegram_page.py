"""Parse a public channel's preview page (``t.me/s/<channel>``) into plain values.

A real HTML parser (selectolax's Lexbor backend) reads the markup social-apis.md E1 describes;
no regular expression ever looks at the HTML.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["TgPage", "TgPost", "parse_channel_page", "parse_views"]

TELEGRAM_WEB = "https://t.me"
_BLOCKS = frozenset({"p", "div", "blockquote", "pre", "li"})
_SERVICE = ("service_message", "message_service", "tgme_widget_message_service")


def parse_views(text: str | None) -> int | None:
    """Return the number a view counter shows: ``"401"``, ``"1.2K"``, ``"12.7K"``, ``"1.1M"``."""
    if not text:
        return None
    value = text.strip().replace("\u00a0", "").replace(",", ".").upper()
    scale = 1
    if value.endswith("K"):
        scale, value = 1_000, value[:-1]
    elif value.endswith("M"):
        scale, value = 1_000_000, value[:-1]
    try:
        return round(float(value) * scale)
    except (ValueError, OverflowError):  # "x", "nan", "1e400"
        return None


@dataclass(frozen=True, slots=True)
class TgPost:
    """One channel message: channel and id from ``data-post``, its time (UTC), text and marks.

    An album is one message under the first id of the group; ``media`` lists what it carries
    (``photo``, ``video``, ``document``, ``album``, ``poll``). A poll's text is its question
    and options.
    """

    channel: str
    id: int
    date: dt.datetime
    text: str
    url: str
    views: int | None = None
    edited: bool = False
    author: str | None = None
    media: tuple[str, ...] = ()

    @property
    def external_id(self) -> str:
        """Return ``"<channel>_<id>"``: storage's ``owner_post`` form, with the canonical
        username of ``data-post`` (``<channel>/<id>``) as the owner."""
        return f"{self.channel}_{self.id}"


@dataclass(frozen=True, slots=True)
class TgPage:
    """A preview page: its messages oldest first, the channel's title, the ``before`` anchor."""

    channel: str | None
    title: str | None
    posts: tuple[TgPost, ...]
    before: int | None
    message_blocks: int = 0
    cut_off: bool = False
    #: Ids of messages left out because their time cannot be read: shown, so not deleted.
    unreadable: tuple[int, ...] = ()


def _classes(node: LexborNode) -> set[str]:
    return set((node.attributes.get("class") or "").split())


def _render(node: LexborNode, out: list[str]) -> None:
    """Append the visible text of ``node``: links as their text, ``<br>`` as a newline."""
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            out.append(child.text(deep=False) or "")
        elif tag == "br":
            out.append("\n")
        elif tag in ("script", "style"):
            continue
        elif tag in _BLOCKS:
            if out and not out[-1].endswith("\n"):
                out.append("\n")
            _render(child, out)
            out.append("\n")
        else:
            _render(child, out)


def message_text(node: LexborNode | None) -> str:
    """Return a message's text with line breaks kept and entities decoded."""
    if node is None:
        return ""
    out: list[str] = []
    _render(node, out)
    lines = "".join(out).replace("\u00a0", " ").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _edited(message: LexborNode) -> bool:
    if message.css_first(".tgme_widget_message_edited") is not None:
        return True
    meta = message.css_first(".tgme_widget_message_meta")
    if meta is None:
        return False
    own = [(c.text(deep=False) or "") for c in meta.iter(include_text=True) if c.tag == "-text"]
    return "edited" in " ".join(own).lower()


def _media(message: LexborNode) -> tuple[str, ...]:
    kinds = []
    if message.css_first(".tgme_widget_message_grouped_wrap") is not None:
        kinds.append("album")
    if message.css_first(".tgme_widget_message_photo_wrap") is not None:
        kinds.append("photo")
    if message.css_first(".tgme_widget_message_video_wrap, video.tgme_widget_message_video"):
        kinds.append("video")
    if message.css_first(".tgme_widget_message_document_wrap") is not None:
        kinds.append("document")
    if message.css_first(".tgme_widget_message_poll") is not None:
        kinds.append("poll")
    return tuple(kinds)


def _poll_text(message: LexborNode) -> str:
    """Return a poll's question and options, one a line ("" when the message has no poll)."""
    poll = message.css_first(".tgme_widget_message_poll")
    if poll is None:
        return ""
    parts = [poll.css_first(".tgme_widget_message_poll_question")]
    parts += poll.css(".tgme_widget_message_poll_option_text")
    lines = (message_text(node) for node in parts if node is not None)
    return "\n".join(line for line in lines if line)


def _is_service(message: LexborNode) -> bool:
    """Tell a service message ("Channel created", a new photo) from a real one."""
    return bool(_classes(message) & set(_SERVICE)) or any(
        message.css_first(f".{name}") is not None for name in _SERVICE
    )


def _post(message: LexborNode) -> TgPost | None:
    ref = message.attributes.get("data-post") or ""
    channel, _, number = ref.rpartition("/")
    if not channel or not number.isdigit():
        return None
    if _is_service(message):
        return None
    stamp = message.css_first("time[datetime]")
    if stamp is None:
        return None
    try:
        when = dt.datetime.fromisoformat(stamp.attributes.get("datetime") or "")
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        when = when.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        # Left out like a message without a time: raising would make the whole page, and so
        # every poll of the channel while this message is on it, unreadable.
        return None
    link = message.css_first("a.tgme_widget_message_date")
    href = link.attributes.get("href") if link is not None else None
    views = message.css_first(".tgme_widget_message_views")
    author = message.css_first(".tgme_widget_message_from_author")
    # The message's own text, not the quoted text of the message it replies to.
    text_node = next(
        (
            n
            for n in message.css(".tgme_widget_message_text")
            if not any("tgme_widget_message_reply" in _classes(p) for p in _parents(n, message))
        ),
        None,
    )
    return TgPost(
        channel=channel,
        id=int(number),
        date=when,
        text=message_text(text_node) or _poll_text(message),  # a poll has no message text
        url=href or f"{TELEGRAM_WEB}/{channel}/{number}",
        views=parse_views(views.text() if views is not None else None),
        edited=_edited(message),
        author=author.text(strip=True) if author is not None else None,
        media=_media(message),
    )


def _parents(node: LexborNode, stop: LexborNode) -> list[LexborNode]:
    out = []
    parent = node.parent
    while parent is not None and parent.mem_id != stop.mem_id:
        out.append(parent)
        parent = parent.parent
    return out


def parse_channel_page(html: str | bytes) -> TgPage:
    """Parse a ``t.me/s/<channel>`` page.

    Returns:
        The messages in page order (oldest first), service messages and messages without a
        readable time left out; ``before`` is the id of the "load older" anchor (None at the
        start of the channel); ``message_blocks`` counts every ``data-post`` block seen;
        ``cut_off`` is set when the last message lost its footer (the body ended mid-way).

    """
    tree = LexborHTMLParser(html.decode("utf-8", "replace") if isinstance(html, bytes) else html)
    blocks = tree.css("div.tgme_widget_message[data-post]")
    posts: list[TgPost] = []
    unreadable: list[int] = []
    for block in blocks:
        post = _post(block)
        if post is not None:
            posts.append(post)
            continue
        _, _, number = (block.attributes.get("data-post") or "").rpartition("/")
        if number.isdigit() and not _is_service(block):
            unreadable.append(int(number))
    last = blocks[-1] if blocks else None
    # A page cut off mid-way ends in a message that lost its footer (and its time).
    cut_off = (
        last is not None and not _is_service(last) and last.css_first("time[datetime]") is None
    )
    more = tree.css_first("a.tme_messages_more[data-before]")
    before: int | None = None
    if more is not None:
        value = more.attributes.get("data-before") or ""
        before = int(value) if value.isdigit() else None
    title_node = tree.css_first(".tgme_channel_info_header_title")
    username = tree.css_first(".tgme_channel_info_header_username")
    channel = posts[0].channel if posts else None
    if channel is None and username is not None:
        channel = username.text(strip=True).removeprefix("@") or None
    return TgPage(
        channel=channel,
        title=title_node.text(strip=True) if title_node is not None else None,
        posts=tuple(sorted(posts, key=lambda p: p.id)),
        before=before,
        message_blocks=len(blocks),
        cut_off=cut_off,
        unreadable=tuple(sorted(unreadable)),
    )
