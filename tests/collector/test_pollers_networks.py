"""The OK and Telegram pollers on small scripted doubles of their APIs (one level up)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from collector.ok_poller import OkGroupPoller
from collector.ok_types import (
    OkComment,
    OkCommentsPage,
    OkTopic,
    OkTopicsPage,
    parse_comments_page,
    parse_topics_page,
)
from collector.telegram_client import TelegramConnectionError
from collector.telegram_page import TgPage, TgPost, parse_channel_page
from collector.telegram_poller import TelegramChannelPoller

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class ScriptedOk:
    """An OK group held in memory; topics newest first, anchors are list positions."""

    def __init__(self, *, counts: bool = True) -> None:
        self.topics: list[OkTopic] = []
        self.comments: dict[str, list[OkComment]] = {}
        self.counts = counts
        self.calls: list[str] = []

    def add(self, n: int, text: str) -> OkTopic:
        topic = OkTopic("g", str(n), T0 + dt.timedelta(minutes=n), text)
        self.topics.insert(0, topic)
        self.comments[topic.id] = []
        return topic

    def comment(self, topic: str, n: int, text: str) -> None:
        self.comments[topic].append(OkComment("g", topic, str(n), T0, text, "u1"))

    async def get_topics(
        self, group_id: str, *, anchor: str | None = None, count: int = 50
    ) -> OkTopicsPage:
        self.calls.append(f"topics:{anchor}")
        start = int(anchor or 0)
        page = self.topics[start : start + count]
        out = tuple(
            OkTopic(
                t.group_id,
                t.id,
                t.created,
                t.text,
                comments_count=len(self.comments[t.id]) if self.counts else None,
            )
            for t in page
        )
        more = start + count < len(self.topics)
        return OkTopicsPage(out, str(start + count) if more else None, more)

    async def get_comments(
        self, group_id: str, topic_id: str, *, anchor: str | None = None, count: int = 100
    ) -> OkCommentsPage:
        self.calls.append(f"comments:{topic_id}")
        start = int(anchor or 0)
        items = self.comments[topic_id]
        more = start + count < len(items)
        return OkCommentsPage(
            tuple(items[start : start + count]), str(start + count) if more else None, more
        )


def ids(harvest_messages: tuple[object, ...]) -> list[str]:
    return [m.external_id for m in harvest_messages]  # type: ignore[attr-defined]


async def test_ok_poller_pages_to_the_watermark_and_notices_changes() -> None:
    api = ScriptedOk()
    for n in range(1, 13):
        api.add(n, f"Пост {n}: нет света на ул. Мира")
    api.comment("3", 1, "И у нас!")
    poller = OkGroupPoller(api, "g", page_size=5)
    first = await poller.poll({})
    assert first.new_posts == 12
    assert ids(first.messages)[-1] == "g_3_1"
    # Two new posts, an edit, a deletion, a new comment.
    api.add(13, "Новый пост")
    api.add(14, "Ещё новый")
    api.topics[-2] = dataclasses.replace(api.topics[-2], text="Пост 2 исправлен")  # topic 2
    api.topics.remove(next(t for t in api.topics if t.id == "5"))
    api.comment("3", 2, "Починили?")
    api.calls.clear()
    second = await poller.poll(first.cursor)
    assert second.new_posts == 2
    assert set(ids(second.messages)) == {"g_13", "g_14", "g_2", "g_3", "g_3_1", "g_3_2"}
    assert second.deleted == ("g_5",)
    assert second.comment_sets == {"g_3": frozenset({"g_3_1", "g_3_2"})}
    third = await poller.poll(second.cursor)
    assert (third.messages, third.deleted) == ((), ())


async def test_ok_poller_rereads_threads_when_no_count_is_given() -> None:
    api = ScriptedOk(counts=False)
    for n in range(1, 4):
        api.add(n, f"Пост {n}")
    poller = OkGroupPoller(api, "g")
    first = await poller.poll({})
    api.comment("1", 7, "Новый комментарий без счётчика")
    second = await poller.poll(first.cursor)
    assert ids(second.messages) == ["g_1_7"]


def tg_page(ids_: list[int], *, more: bool, edited: frozenset[int] = frozenset()) -> TgPage:
    posts = tuple(
        TgPost(
            "Chan",
            i,
            T0 + dt.timedelta(minutes=i),
            f"Сообщение {i}" + (" (исправлено)" if i in edited else ""),
            f"https://t.me/Chan/{i}",
            edited=i in edited,
        )
        for i in sorted(ids_)
    )
    return TgPage("Chan", "Канал", posts, min(ids_) if more and ids_ else None)


class ScriptedChannel:
    """Messages 1..n, pages of ``size``, oldest first; ``cut`` drops the newest of a page."""

    def __init__(self, n: int, size: int = 5) -> None:
        self.alive = list(range(1, n + 1))
        self.size = size
        self.edited: set[int] = set()
        self.cut = 0
        self.empty = False
        self.asked: list[int | None] = []

    async def fetch(
        self, channel: str, *, before: int | None = None, after: int | None = None
    ) -> TgPage:
        self.asked.append(before)
        if self.empty:
            return TgPage("Chan", None, (), None)
        older = [i for i in self.alive if before is None or i < before]
        page = older[-self.size :]
        if self.cut:
            page = page[: -self.cut]
        return tg_page(page, more=len(older) > self.size, edited=frozenset(self.edited))


async def test_telegram_poller_closes_a_gap_with_before_and_notices_changes() -> None:
    api = ScriptedChannel(8)
    poller = TelegramChannelPoller(api, "chan", max_pages=5)
    first = await poller.poll({})
    assert ids(first.messages) == [f"Chan_{i}" for i in range(4, 9)]  # the newest page only
    api.alive += list(range(9, 21))  # 12 new: more than a page
    api.edited.add(7)
    api.alive.remove(6)
    api.asked.clear()
    second = await poller.poll(first.cursor)
    assert api.asked == [None, 16, 11]  # paged back to the stored last id, no further
    assert [m.external_id for m in second.messages if m.external_id != "Chan_7"] == [
        f"Chan_{i}" for i in range(9, 21)
    ]
    assert "Chan_7" in ids(second.messages)
    # 6 vanished inside the range read: deleted.
    assert second.deleted == ("Chan_6",)


async def test_telegram_poller_keeps_messages_a_short_page_did_not_show() -> None:
    api = ScriptedChannel(10)
    poller = TelegramChannelPoller(api, "chan")
    first = await poller.poll({})
    api.cut = 2  # the page lost its two newest messages
    second = await poller.poll(first.cursor)
    assert second.deleted == ()
    api.cut = 0
    api.alive.remove(10)
    api.alive.append(11)
    third = await poller.poll(second.cursor)
    assert ids(third.messages) == ["Chan_11"]
    assert third.deleted == ("Chan_10",)


async def test_telegram_poller_refuses_an_empty_newest_page() -> None:
    api = ScriptedChannel(5)
    poller = TelegramChannelPoller(api, "chan")
    first = await poller.poll({})
    api.empty = True
    with pytest.raises(TelegramConnectionError, match="lists nothing"):
        await poller.poll(first.cursor)


async def test_telegram_poller_keeps_an_unread_range_for_the_next_polls() -> None:
    api = ScriptedChannel(5)
    poller = TelegramChannelPoller(api, "chan", max_pages=2)
    first = await poller.poll({})
    api.alive += list(range(6, 31))  # 25 new: five pages, two a poll
    second = await poller.poll(first.cursor)
    assert [m.external_id for m in second.messages] == [f"Chan_{i}" for i in range(21, 31)]
    assert second.cursor["gaps"] == [[21, 5]]
    api.alive.append(31)
    third = await poller.poll(second.cursor)
    assert ids(third.messages) == ["Chan_16", "Chan_17", "Chan_18", "Chan_19", "Chan_20", "Chan_31"]
    got = {m for h in (second, third) for m in ids(h.messages)}
    fourth = await poller.poll(third.cursor)
    fifth = await poller.poll(fourth.cursor)
    got |= {m for h in (fourth, fifth) for m in ids(h.messages)}
    assert got == {f"Chan_{i}" for i in range(6, 32)}
    assert fifth.cursor["gaps"] == []
    assert (await poller.poll(fifth.cursor)).messages == ()


class FaultyOk(ScriptedOk):
    """The same group, answering one call of a kind with a fault (the next ones are honest)."""

    def __init__(self) -> None:
        super().__init__()
        self.topic_fault: str | None = None
        self.comment_fault: str | None = None

    async def get_topics(
        self, group_id: str, *, anchor: str | None = None, count: int = 50
    ) -> OkTopicsPage:
        fault, self.topic_fault = self.topic_fault, None
        if fault == "empty":  # ``{}``: parsed as no topics, no anchor, no more
            self.calls.append(f"topics:{anchor}")
            return OkTopicsPage((), None, False)
        page = await super().get_topics(group_id, anchor=anchor, count=count)
        if fault == "no_anchor" and page.has_more:
            return OkTopicsPage(page.topics, None, True)
        return page

    async def get_comments(
        self, group_id: str, topic_id: str, *, anchor: str | None = None, count: int = 100
    ) -> OkCommentsPage:
        page = await super().get_comments(group_id, topic_id, anchor=anchor, count=count)
        if self.comment_fault == "repeat" and page.has_more:
            return OkCommentsPage(page.comments, anchor or "0", True)  # the anchor it was given
        if self.comment_fault == "empty":
            return OkCommentsPage((), None, False)
        if self.comment_fault == "no_anchor" and page.has_more:
            return OkCommentsPage(page.comments, None, True)
        return page


def busy_group() -> FaultyOk:
    api = FaultyOk()
    for n in range(1, 13):
        api.add(n, f"Пост {n}: во дворе на ул. Ленина не убран снег ❄️")
    for n in range(1, 8):
        api.comment("3", n, f"Комментарий {n}: <b>и у нас</b> тоже")
    return api


@pytest.mark.parametrize("fault", ["empty", "no_anchor"])
async def test_ok_poller_does_not_delete_posts_a_broken_page_did_not_show(fault: str) -> None:
    api = busy_group()
    poller = OkGroupPoller(api, "g", page_size=5)
    first = await poller.poll({})
    api.topic_fault = fault

    broken = await poller.poll(first.cursor)
    honest = await poller.poll(broken.cursor)

    assert broken.deleted == ()
    assert honest.deleted == ()
    api.topics.remove(next(t for t in api.topics if t.id == "2"))
    assert (await poller.poll(honest.cursor)).deleted == ("g_2",)  # real deletions still seen


@pytest.mark.parametrize("fault", ["repeat", "empty", "no_anchor"])
async def test_ok_poller_keeps_comments_a_broken_thread_page_did_not_show(fault: str) -> None:
    api = busy_group()
    poller = OkGroupPoller(api, "g", page_size=5, comment_page_size=3)
    first = await poller.poll({})
    assert first.comment_sets["g_3"] == frozenset(f"g_3_{n}" for n in range(1, 8))
    api.comment("3", 8, "Восьмой: когда уберут?")
    api.comment_fault = fault

    broken = await poller.poll(first.cursor)
    api.comment_fault = None
    honest = await poller.poll(broken.cursor)

    assert "g_3" not in broken.comment_sets  # nothing marked deleted from a partial read
    assert api.calls.count("comments:3") <= 1 + 3 + 3 + 3  # a repeated anchor is not followed
    assert honest.comment_sets["g_3"] == frozenset(f"g_3_{n}" for n in range(1, 9))
    assert "g_3_8" in ids(broken.messages) + ids(honest.messages)


class RawOk:
    """An OK group served as raw API payloads, parsed as the client parses them."""

    def __init__(self) -> None:
        self.topics: list[dict[str, object]] = []
        self.comments: dict[str, list[dict[str, object]]] = {}

    async def get_topics(
        self, group_id: str, *, anchor: str | None = None, count: int = 50
    ) -> OkTopicsPage:
        raw = {"media_topics": self.topics, "has_more": False}
        return parse_topics_page(raw, group_id=group_id)

    async def get_comments(
        self, group_id: str, topic_id: str, *, anchor: str | None = None, count: int = 100
    ) -> OkCommentsPage:
        raw = {"comments": self.comments.get(topic_id, []), "has_more": False}
        return parse_comments_page(raw, group_id=group_id, topic_id=topic_id)


async def test_ok_posts_and_comments_whose_date_turns_unreadable_are_not_marked_deleted() -> None:
    # A watched post (or comment) left out because its date could not be read was absent from
    # the read, so it was marked deleted although the group still showed it.
    api = RawOk()
    for n in (1, 2, 3):
        api.topics.insert(
            0,
            {
                "id": str(n),
                "created_ms": 1_764_838_800_000 + n * 60_000,
                "media": [{"type": "text", "text": f"Пост {n}: нет отопления на ул. Ленина"}],
                "discussion_summary": {"comments_count": 2 if n == 1 else 0},
            },
        )
    api.comments["1"] = [
        {"id": "a", "date": "2026-12-03 12:00:00", "text": "Когда дадут тепло?"},
        {"id": "b", "date": "2026-12-03 12:05:00", "text": "У нас тоже холодно"},
    ]
    poller = OkGroupPoller(api, "77")
    first = await poller.poll({})
    assert {m.external_id for m in first.messages} == {"77_1", "77_2", "77_3", "77_1_a", "77_1_b"}

    api.topics[0]["created_ms"] = 10**22  # post 3
    api.comments["1"][0]["date"] = "вчера"
    api.comments["1"].append({"id": "c", "date": "2026-12-03 13:00:00", "text": "Сколько ждать?"})
    api.topics[-1]["discussion_summary"] = {"comments_count": 3}
    second = await poller.poll(first.cursor)

    assert second.deleted == ()
    assert second.comment_sets["77_1"] >= {"77_1_a", "77_1_b", "77_1_c"}
    assert "3" in second.cursor["watched"]  # type: ignore[operator]
    api.topics.pop(1)  # post 2 really deleted: still noticed
    third = await poller.poll(second.cursor)
    assert third.deleted == ("77_2",)


def tg_html(stamps: dict[int, str]) -> str:
    blocks = "".join(
        f'<div class="tgme_widget_message" data-post="Chan/{i}">'
        f'<div class="tgme_widget_message_text">Сообщение {i}: прорвало трубу на ул. Мира</div>'
        f'<a class="tgme_widget_message_date" href="https://t.me/Chan/{i}">'
        f'<time datetime="{stamp}">10:37</time></a></div>'
        for i, stamp in sorted(stamps.items())
    )
    return f"<html><body>{blocks}</body></html>"


async def test_a_telegram_message_whose_time_turns_unreadable_is_not_marked_deleted() -> None:
    # A watched message left out because its time could not be read was inside the id range
    # the page showed, so it was marked deleted although the channel still showed it.
    stamps = {i: f"2026-12-01T10:{i:02d}:00+03:00" for i in range(1, 6)}

    class Channel:
        async def fetch(
            self, channel: str, *, before: int | None = None, after: int | None = None
        ) -> TgPage:
            return parse_channel_page(tg_html(stamps))

    poller = TelegramChannelPoller(Channel(), "chan", max_pages=2)
    first = await poller.poll({})
    assert first.new_posts == 5

    stamps[3] = "вчера"
    second = await poller.poll(first.cursor)
    assert second.deleted == ()
    assert "3" in second.cursor["watched"]  # type: ignore[operator]

    del stamps[2]  # really deleted: still noticed
    third = await poller.poll(second.cursor)
    assert third.deleted == ("Chan_2",)
