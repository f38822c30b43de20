"""The OK client: the published signature vectors, each method, and every error code's kind."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp.plugin import AiohttpServer

from collector.errors import (
    VkAccessDenied,
    VkApiError,
    VkAuthError,
    VkConnectionError,
    VkRateLimited,
    VkServerError,
)
from collector.health import classify_failure
from collector.ok_client import OkClient, ok_secret_key, ok_signature
from collector.ok_types import (
    ok_local_time,
    parse_comments_page,
    parse_groups,
    parse_topics_page,
)
from collector.vk_client import Backoff
from emulator.ok import DEMO_ACCESS_TOKEN, DEMO_APP_KEY, DEMO_APP_SECRET, OkEmulator
from emulator.vk import FakeClock

# social-apis.md B2 (matching konstantintogoi/aiookru docs/api.md).
APP_KEY = "ABCDEFGHIGKLMNOPK"
APP_SECRET = "ABC123DEF456GHI789JKL123"
TOKEN = "-s-84W-s3egarWUsbkq-IWTucuedzTKT8VUXIA.s4Xx8IW7"


def test_secret_key_vector() -> None:
    key = ok_secret_key(application_secret=APP_SECRET, access_token=TOKEN)
    assert key == "b1a2b89707a94624c43afae67d59274c"


def test_signature_vector_server_server() -> None:
    params = {
        "application_key": APP_KEY,
        "format": "json",
        "method": "events.get",
        "access_token": TOKEN,
    }
    key = ok_secret_key(application_secret=APP_SECRET, access_token=TOKEN)
    assert ok_signature(params, key) == "232c8eb921951c4dba9b72606f9ddb4c"


def test_signature_vector_client_server() -> None:
    params = {"application_key": APP_KEY, "format": "json", "method": "events.get"}
    key = ok_secret_key(
        application_secret=APP_SECRET,
        access_token=TOKEN,
        session_secret_key="ae5362b5b588cc7294c2414d71b74d5d",
    )
    assert ok_signature(params, key) == "03a41413523ea8092507949d6e711963"


def test_signature_leaves_token_and_sig_out_and_sorts() -> None:
    base = {"method": "events.get", "application_key": APP_KEY, "format": "json"}
    with_extra = {**base, "access_token": "other", "sig": "x", "session_key": "y"}
    assert ok_signature(base, "k") == ok_signature(with_extra, "k")
    assert ok_signature({**base, "gid": "1"}, "k") != ok_signature(base, "k")


def test_zone_less_dates_are_moscow_time() -> None:
    assert ok_local_time("2026-12-03 12:00:00") == dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="not an OK date"):
        ok_local_time(None)


def test_group_info_both_shapes() -> None:
    bare = [{"uid": "1", "name": "Жалобы Кирова", "members_count": 5}]
    assert parse_groups(bare) == parse_groups({"groups": bare})
    assert parse_groups(bare)[0].name == "Жалобы Кирова"
    with pytest.raises(ValueError, match="neither"):
        parse_groups("oops")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> OkEmulator:
    return OkEmulator(seed=3, groups=2, posts=30, clock=clock)


@pytest.fixture
async def api_url(aiohttp_server: AiohttpServer, emu: OkEmulator) -> str:
    server = await aiohttp_server(emu.create_app())
    return str(server.make_url("/fb.do"))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def make_client(
    http: aiohttp.ClientSession, api_url: str, clock: FakeClock, **options: Any
) -> OkClient:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    values: dict[str, Any] = {
        "application_key": DEMO_APP_KEY,
        "application_secret": DEMO_APP_SECRET,
        "access_token": DEMO_ACCESS_TOKEN,
        "backoff": Backoff(attempts=3, jitter=lambda: 0.5),
        "sleep": sleep,
        "monotonic": clock,
        **options,
    }
    return OkClient(session=http, api_url=api_url, **values)


async def test_methods_against_the_emulator(
    http: aiohttp.ClientSession, api_url: str, emu: OkEmulator, clock: FakeClock
) -> None:
    client = make_client(http, api_url, clock)
    group = next(iter(emu.world.groups.values()))
    info = await client.url_get_info(f"https://ok.ru/group/{group.shortname}")
    assert info.object_id == str(group.uid)
    (described,) = await client.group_get_info(str(group.uid))
    assert described.name == group.name
    # Paging: small pages with anchor / has_more give every post exactly once, newest first.
    ids: list[str] = []
    anchor = None
    while True:
        page = await client.get_topics(str(group.uid), anchor=anchor, count=7)
        ids += [t.id for t in page.topics]
        if not page.has_more:
            break
        anchor = page.anchor
    assert ids == [str(t.id) for t in emu.world.live_topics(group.uid)]
    topic = max(emu.world.live_topics(group.uid), key=lambda t: len(group.comments[t.id]))
    emu.world.publish_comment(group.uid, topic.id, "Когда уберут снег во дворе? 😡")
    comments = []
    anchor = None
    while True:
        cpage = await client.get_comments(str(group.uid), str(topic.id), anchor=anchor, count=1)
        comments += list(cpage.comments)
        if not cpage.has_more:
            break
        anchor = cpage.anchor
    truth = emu.world.live_comments(group.uid, topic.id)
    assert [c.id for c in comments] == [str(c.id) for c in truth]
    last = comments[-1]
    assert last.text == "Когда уберут снег во дворе? 😡"
    # The emulator writes Moscow wall time with no zone; the client reads it back as UTC.
    assert last.date == dt.datetime.fromtimestamp(int(truth[-1].date), tz=dt.UTC)
    assert last.date.tzinfo is dt.UTC


async def test_wrong_secret_is_refused_with_104(
    http: aiohttp.ClientSession, api_url: str, clock: FakeClock
) -> None:
    client = make_client(http, api_url, clock, application_secret="not-the-secret")
    with pytest.raises(VkAuthError, match="OK error 104"):
        await client.get_topics("1")
    assert client.disabled is not None


# code -> (the VK class it maps to, what the collect service does with it)
CODES: dict[int, tuple[type[Exception], str]] = {
    1: (VkServerError, "retry"),
    2: (VkServerError, "retry"),
    30: (VkServerError, "retry"),
    31: (VkServerError, "retry"),
    704: (VkServerError, "retry"),
    5000: (VkServerError, "retry"),
    9999: (VkServerError, "retry"),
    7: (VkRateLimited, "rest"),
    8: (VkRateLimited, "rest"),
    9: (VkRateLimited, "rest"),
    11: (VkRateLimited, "rest"),
    26: (VkRateLimited, "rest"),
    10: (VkAuthError, "disable"),
    101: (VkAuthError, "disable"),
    102: (VkAuthError, "disable"),
    103: (VkAuthError, "disable"),
    104: (VkAuthError, "disable"),
    105: (VkAuthError, "disable"),
    200: (VkAuthError, "disable"),
    210: (VkAuthError, "disable"),
    401: (VkAuthError, "disable"),
    453: (VkAuthError, "disable"),
    900: (VkAuthError, "disable"),
    160: (VkAccessDenied, "unavailable"),
    300: (VkAccessDenied, "unavailable"),
    455: (VkAccessDenied, "unavailable"),
    456: (VkAccessDenied, "unavailable"),
    457: (VkAccessDenied, "unavailable"),
    458: (VkAccessDenied, "unavailable"),
    511: (VkAccessDenied, "unavailable"),
    3: (VkApiError, "fail"),
    4: (VkApiError, "fail"),
    100: (VkApiError, "fail"),
}


@pytest.mark.parametrize("code", sorted(CODES))
async def test_each_error_code(
    code: int, http: aiohttp.ClientSession, api_url: str, emu: OkEmulator, clock: FakeClock
) -> None:
    cls, handling = CODES[code]
    client = make_client(http, api_url, clock)
    gid = str(next(iter(emu.world.groups)))
    emu.inject("error", error_code=code, method="mediatopic.getTopics")
    if handling == "retry":  # retried with backoff: the second attempt succeeds
        page = await client.get_topics(gid)
        assert page.topics
        assert client.retries == 1
        assert emu.calls.count("mediatopic.getTopics") == 2
        return
    with pytest.raises(cls) as caught:
        await client.get_topics(gid)
    err = caught.value
    assert str(err).startswith(f"OK error {code}: ")
    failure = classify_failure(err)
    calls = emu.calls.count("mediatopic.getTopics")
    assert calls == 1
    if handling == "rest":
        assert failure.retry_after is not None
        assert failure.retry_after >= 60
        with pytest.raises(VkRateLimited):  # resting: refused without a request
            await client.get_topics(gid)
        assert emu.calls.count("mediatopic.getTopics") == calls
        clock.advance(failure.retry_after + 1)
        assert (await client.get_topics(gid)).topics
    elif handling == "disable":
        assert failure.alert
        with pytest.raises(VkAuthError):  # disabled: refused without a request
            await client.get_topics(gid)
        assert emu.calls.count("mediatopic.getTopics") == calls
    elif handling == "unavailable":
        assert failure.disable_reason is not None
        assert not failure.alert
    else:
        assert not failure.alert
        assert failure.disable_reason is None
        assert failure.retry_after is None
        assert (await client.get_topics(gid)).topics  # the next call goes through


@pytest.mark.parametrize("kind", ["http", "truncate", "drop"])
async def test_transport_faults_are_retried(
    kind: str, http: aiohttp.ClientSession, api_url: str, emu: OkEmulator, clock: FakeClock
) -> None:
    client = make_client(http, api_url, clock)
    gid = str(next(iter(emu.world.groups)))
    emu.inject(kind, status=502, count=2, method="mediatopic.getTopics")  # type: ignore[arg-type]
    assert (await client.get_topics(gid)).topics
    assert not emu.faults.pending()
    if kind == "drop":  # aiohttp itself re-sends once on a connection closed under it
        assert client.retries >= 1
        return
    assert client.retries == 2
    emu.inject(kind, status=502, count=3, method="mediatopic.getTopics")  # type: ignore[arg-type]
    with pytest.raises(VkConnectionError):
        await client.get_topics(gid)


async def test_requests_are_paced_and_secrets_stay_out_of_errors(
    http: aiohttp.ClientSession, api_url: str, emu: OkEmulator, clock: FakeClock
) -> None:
    from collector.rate_limit import SlidingWindowLimiter

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    limiter = SlidingWindowLimiter(rate=1, clock=clock, sleep=sleep)
    client = make_client(http, api_url, clock, limiter=limiter)
    gid = str(next(iter(emu.world.groups)))
    start = clock()
    for _ in range(4):
        await client.get_topics(gid)
    assert clock() - start >= 3  # 1 request a second
    emu.inject("error", error_code=102, error_msg=f"token {DEMO_ACCESS_TOKEN} expired")
    with pytest.raises(VkAuthError) as caught:
        await client.get_topics(gid)
    assert DEMO_ACCESS_TOKEN not in str(caught.value)


async def test_group_info_accepts_the_object_shape(
    aiohttp_server: AiohttpServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async def handler(request: web.Request) -> web.Response:
        assert request.query["method"] == "group.getInfo"
        return web.json_response(
            {"groups": [{"uid": "77", "name": "Котельнич онлайн", "access_type": "CLOSED"}]}
        )

    app = web.Application()
    app.router.add_get("/fb.do", handler)
    server = await aiohttp_server(app)
    client = make_client(http, str(server.make_url("/fb.do")), clock)
    (group,) = await client.group_get_info("77")
    assert (group.uid, group.access_type) == ("77", "CLOSED")


def test_one_topic_or_comment_with_an_unreadable_date_is_left_out_not_the_page() -> None:
    # A ValueError/OverflowError of one item failed the whole page (an OkConnectionError, or
    # an unexpected error), so the group's poll failed on every retry while it was listed.
    good = {"id": "1", "created_ms": 1764838800000, "media": [{"type": "text", "text": "Яма"}]}
    topics = {
        "media_topics": [
            good,
            {"id": "2", "media": [{"type": "text", "text": "без даты"}]},
            {"id": "3", "created_ms": 10**22},
            {"id": "4", "created": "вчера"},
            {"id": "5", "created_ms": float("inf")},
        ],
        "has_more": False,
    }
    assert [t.id for t in parse_topics_page(topics, group_id="77").topics] == ["1"]
    comments = {
        "comments": [
            {"id": "a", "date": "2026-12-03 12:00:00", "text": "Когда починят?"},
            {"id": "b", "date": "30 февраля"},
            {"id": "c", "date_ms": 10**22},
            {"id": "d"},
        ],
        "has_more": False,
    }
    page = parse_comments_page(comments, group_id="77", topic_id="1")
    assert [c.id for c in page.comments] == ["a"]
