"""VkClient over real HTTP against the fake VK server on 127.0.0.1."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from collector.errors import (
    VkAccessDenied,
    VkApiError,
    VkAuthError,
    VkCaptchaNeeded,
    VkConnectionError,
    VkError,
    VkFloodControl,
    VkRateLimited,
    VkServerError,
)
from collector.quotas import QuotaTracker
from collector.types import ExecuteCall
from collector.vk_client import Backoff, VkClient, build_execute_code
from tests.collector.conftest import MakeClient
from tests.fakes.clock import FakeClock
from tests.fakes.fake_vk import FakeVk

TOKEN = "secret-token-1"


def wall(fake: FakeVk, owner: int = -1, n: int = 5) -> None:
    fake.walls[owner] = [
        {
            "id": i,
            "owner_id": owner,
            "from_id": owner,
            "date": 1_700_000_000 + i,
            "text": f"p{i}",
            "comments": {"count": 0},
        }
        for i in range(1, n + 1)
    ]


async def test_form_encoded_post_with_version_and_token(
    fake_vk: FakeVk, make_client: MakeClient
) -> None:
    wall(fake_vk)
    page = await make_client().wall_get(-1, count=2)
    assert [p.id for p in page.items] == [5, 4]
    assert page.count == 5
    method, form = fake_vk.requests[0]
    assert method == "wall.get"
    assert form["v"] == "5.199"
    assert form["access_token"] == TOKEN
    assert form["owner_id"] == "-1"
    assert form["count"] == "2"
    assert form["offset"] == "0"


@pytest.mark.parametrize(
    ("code", "exc", "extra"),
    [
        (5, VkAuthError, ""),
        (27, VkAuthError, ""),
        (28, VkAuthError, ""),
        (15, VkAccessDenied, "closed"),
        (18, VkAccessDenied, "deleted"),
        (19, VkAccessDenied, "blocked"),
        (30, VkAccessDenied, "private"),
        (203, VkAccessDenied, "group_denied"),
        (212, VkAccessDenied, "comments_closed"),
        (14, VkCaptchaNeeded, ""),
        (9, VkFloodControl, ""),
        (100, VkApiError, ""),
    ],
)
async def test_error_codes_raise_their_class_without_retry(
    fake_vk: FakeVk, make_client: MakeClient, code: int, exc: type[VkError], extra: str
) -> None:
    wall(fake_vk)
    fake_vk.fault(
        "error",
        code=code,
        message=f"Access denied: reason {code}",
        extra={"captcha_sid": "548"} if code == 14 else {},
    )
    with pytest.raises(exc) as info:
        await make_client().wall_get(-1)
    assert type(info.value) is exc
    assert isinstance(info.value, VkApiError)
    assert info.value.code == code
    assert len(fake_vk.requests) == 1
    if extra:
        assert isinstance(info.value, VkAccessDenied)
        assert info.value.reason == extra
        assert "reason" in info.value.error_msg
    if code == 14:
        assert isinstance(info.value, VkCaptchaNeeded)
        assert info.value.captcha_sid == "548"


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "error", "code": 1},
        {"kind": "error", "code": 6},
        {"kind": "error", "code": 10},
        {"kind": "status", "code": 502},
        {"kind": "truncated"},
        {"kind": "garbage"},
        {"kind": "nested"},
        {"kind": "disconnect"},
    ],
)
async def test_transient_failures_are_retried_with_backoff(
    fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock, fault: dict[str, object]
) -> None:
    wall(fake_vk)
    fake_vk.fault(**fault)  # type: ignore[arg-type]
    fake_vk.fault(**fault)  # type: ignore[arg-type]
    client = make_client()
    page = await client.wall_get(-1)
    assert len(page.items) == 5
    assert len(fake_vk.requests) == 3
    assert client.retries == 2
    backoff_sleeps = [s for s in clock.sleeps if s >= 0.3]
    if fault.get("code") == 6:
        assert backoff_sleeps[:2] == [1.0, 1.0]  # at least the error-6 rest
    else:
        assert backoff_sleeps[:2] == [0.375, 0.75]  # equal jitter at 0.5: 3/4 of 0.5, of 1.0


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        ({"kind": "status", "code": 503}, None),
        ({"kind": "truncated"}, ValueError),
        ({"kind": "disconnect"}, aiohttp.ClientError),
        ({"kind": "error", "code": 10}, None),
    ],
)
async def test_persistent_failures_end_in_vk_errors_only(
    fake_vk: FakeVk, make_client: MakeClient, fault: dict[str, object], cause: type | None
) -> None:
    wall(fake_vk)
    for _ in range(4):
        fake_vk.fault(**fault)  # type: ignore[arg-type]
    with pytest.raises(VkError) as info:
        await make_client().wall_get(-1)
    assert isinstance(info.value, VkConnectionError | VkServerError)
    assert len(fake_vk.requests) == 4
    if cause is not None:
        assert isinstance(info.value.__cause__, cause)


async def test_timeout_is_a_connection_error(fake_vk: FakeVk, make_client: MakeClient) -> None:
    wall(fake_vk)
    fake_vk.fault("slow", seconds=2.0)
    client = make_client(request_timeout=0.2, backoff=Backoff(attempts=1))
    with pytest.raises(VkConnectionError, match="timed out") as info:
        await client.wall_get(-1)
    assert isinstance(info.value.__cause__, TimeoutError)


async def test_token_never_in_errors_or_logs(
    fake_vk: FakeVk, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wall(fake_vk)
    fake_vk.fault("error", code=10, message=f"Internal server error ({TOKEN})")
    fake_vk.fault("error", code=5, message=f"User authorization failed: {TOKEN} revoked")
    with pytest.raises(VkAuthError) as info:
        await make_client().wall_get(-1)
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)
    assert TOKEN not in repr(make_client())
    assert caplog.records
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


async def test_quota_counts_and_refuses_before_calling(
    fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock
) -> None:
    wall(fake_vk)
    quotas = QuotaTracker(limits={"wall.get": 2}, clock=clock.now)
    client = make_client(quotas=quotas)
    await client.wall_get(-1)
    await client.wall_get(-1)
    with pytest.raises(VkRateLimited) as info:
        await client.wall_get(-1)
    assert info.value.quota_exhausted
    assert len(fake_vk.requests) == 2
    # 09:00 UTC is 12:00 in Moscow: the quota day ends at 21:00 UTC.
    assert info.value.retry_after == pytest.approx(12 * 3600)
    clock.advance(12 * 3600 + 1)
    await client.wall_get(-1)
    assert quotas.used("t1", "wall.get") == 1


async def test_error_29_rests_token_and_method_until_reset(
    fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock, quotas: QuotaTracker
) -> None:
    wall(fake_vk)
    fake_vk.comments[(-1, 5)] = []
    fake_vk.fault("error", code=29, message="Rate limit reached", method="wall.get")
    client = make_client()
    with pytest.raises(VkRateLimited) as info:
        await client.wall_get(-1)
    assert info.value.retry_after == pytest.approx(12 * 3600)
    with pytest.raises(VkRateLimited):
        await client.wall_get(-1)
    assert len(fake_vk.requests) == 1
    # Other methods of the same token go on.
    await client.wall_get_comments(-1, 5)
    # Another token goes on with wall.get.
    await make_client("other-token", name="t2").wall_get(-1)
    clock.advance(12 * 3600)
    await client.wall_get(-1)


async def test_wall_get_comments_parameters(fake_vk: FakeVk, make_client: MakeClient) -> None:
    fake_vk.comments[(-1, 5)] = [
        {
            "id": 6,
            "from_id": 1,
            "date": 1,
            "text": "hi",
            "parents_stack": [],
            "_replies": [{"id": 7, "from_id": 2, "date": 2, "text": "re", "parents_stack": [6]}],
        },
    ]
    page = await make_client().wall_get_comments(-1, 5)
    _, form = fake_vk.requests[0]
    assert form["preview_length"] == "0"
    assert form["thread_items_count"] == "10"
    assert form["need_likes"] == "1"
    (comment,) = page.items
    assert comment.thread_count == 1
    assert comment.thread[0].parent_comment_id == 6
    replies = await make_client().wall_get_comments(-1, 5, comment_id=6)
    assert [c.id for c in replies.items] == [7]
    assert "thread_items_count" not in fake_vk.requests[1][1]


async def test_groups_get_by_id_5199_shape(fake_vk: FakeVk, make_client: MakeClient) -> None:
    fake_vk.groups["kirov_news"] = {
        "id": 42,
        "name": "Киров",
        "screen_name": "kirov_news",
        "is_closed": 0,
        "fixed_post": 9,
    }
    (group,) = await make_client().groups_get_by_id(["kirov_news"])
    assert (group.id, group.owner_id, group.fixed_post) == (42, -42, 9)


async def test_create_comment_guid_is_idempotent(fake_vk: FakeVk, make_client: MakeClient) -> None:
    fake_vk.comments[(-1, 5)] = []
    client = make_client(kind="community")
    first = await client.wall_create_comment(-1, 5, "Ответ", guid="incident-7", from_group=1)
    again = await client.wall_create_comment(-1, 5, "Ответ", guid="incident-7", from_group=1)
    assert first == again
    assert len(fake_vk.comments[(-1, 5)]) == 1
    assert fake_vk.requests[0][1]["from_group"] == "1"


async def test_execute_reports_failed_calls_one_by_one(
    fake_vk: FakeVk, make_client: MakeClient, quotas: QuotaTracker
) -> None:
    wall(fake_vk, -1)
    wall(fake_vk, -2)
    calls = [
        ExecuteCall("wall.get", {"owner_id": -1, "count": 2}),
        ExecuteCall("wall.get", {"owner_id": -3, "count": 2}),  # no such wall: 15
        ExecuteCall("wall.get", {"owner_id": -2, "count": 1}),
    ]
    results = await make_client().execute(calls)
    assert [r.ok for r in results] == [True, False, True]
    assert isinstance(results[1].error, VkAccessDenied)
    assert results[2].response["items"][0]["id"] == 5
    assert len(fake_vk.requests) == 1
    assert quotas.used("t1", "wall.get") == 3
    assert quotas.used("t1", "execute") == 1


async def test_execute_retries_only_the_call_that_failed_with_error_10(
    fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock, quotas: QuotaTracker
) -> None:
    wall(fake_vk, -1)
    wall(fake_vk, -2)
    fake_vk.comments[(-1, 5)] = [
        {"id": 6, "from_id": 7, "date": 1_700_000_100, "text": "Во дворе темно, фонарь не горит"}
    ]
    # VK fails wall.getComments inside the batch twice ("Internal server error"), then not.
    fake_vk.fault("error", code=10, message="Internal server error", method="wall.getComments")
    fake_vk.fault("error", code=10, message="Internal server error", method="wall.getComments")
    calls = [
        ExecuteCall("wall.get", {"owner_id": -1, "count": 2}),
        ExecuteCall("wall.getComments", {"owner_id": -1, "post_id": 5, "count": 100}),
        ExecuteCall("wall.get", {"owner_id": -2, "count": 1}),
    ]
    results = await make_client().execute(calls)
    assert [r.ok for r in results] == [True, True, True]
    assert results[1].response["items"][0]["text"] == "Во дворе темно, фонарь не горит"
    assert [p["id"] for p in results[0].response["items"]] == [5, 4]
    codes = [form["code"] for method, form in fake_vk.requests if method == "execute"]
    assert len(codes) == 3
    assert codes[0].count("API.") == 3
    # The retries carry the failed call alone, not the whole batch again.
    assert codes[1] == codes[2] == build_execute_code([calls[1]])
    assert len(clock.sleeps) == 2
    assert clock.sleeps[1] > clock.sleeps[0]  # exponential backoff
    assert quotas.used("t1", "wall.get") == 2


async def test_execute_gives_up_on_a_call_after_the_attempts_and_keeps_the_rest(
    fake_vk: FakeVk, make_client: MakeClient
) -> None:
    wall(fake_vk, -1)
    fake_vk.comments[(-1, 5)] = []
    for _ in range(10):
        fake_vk.fault("error", code=10, message="Internal server error", method="wall.getComments")
    calls = [
        ExecuteCall("wall.get", {"owner_id": -1, "count": 2}),
        ExecuteCall("wall.getComments", {"owner_id": -1, "post_id": 5}),
        ExecuteCall("wall.get", {"owner_id": -3, "count": 1}),  # no such wall: 15, not retried
    ]
    results = await make_client(backoff=Backoff(attempts=3, jitter=lambda: 0.5)).execute(calls)
    assert results[0].ok
    assert isinstance(results[1].error, VkServerError)
    assert results[1].error.code == 10
    assert isinstance(results[2].error, VkAccessDenied)  # matched past the trailing entry
    assert sum(1 for method, _ in fake_vk.requests if method == "execute") == 3


async def test_execute_retries_when_the_retry_request_itself_fails(
    fake_vk: FakeVk, make_client: MakeClient
) -> None:
    wall(fake_vk, -1)
    fake_vk.comments[(-1, 5)] = []
    fake_vk.fault("error", code=10, message="Internal server error", method="wall.getComments")

    def then_break_the_transport(method: str, form: dict[str, str]) -> None:
        if method == "execute" and fake_vk.before_response is not None:
            fake_vk.before_response = None
            fake_vk.fault("status", code=502, method="execute")  # the retry gets a 502
            fake_vk.fault("truncated", method="execute")  # and then a cut body

    fake_vk.before_response = then_break_the_transport
    calls = [
        ExecuteCall("wall.get", {"owner_id": -1, "count": 2}),
        ExecuteCall("wall.getComments", {"owner_id": -1, "post_id": 5}),
    ]
    results = await make_client().execute(calls)
    assert [r.ok for r in results] == [True, True]
    assert [m for m, _ in fake_vk.requests] == ["execute"] * 4
    assert fake_vk.faults == []


def test_execute_code_is_vkscript_and_capped() -> None:
    code = build_execute_code([ExecuteCall("wall.get", {"owner_id": -1, "q": "ё"})])
    assert code == 'return [API.wall.get({"owner_id":-1,"q":"ё"})];'
    with pytest.raises(ValueError, match="at most 25"):
        build_execute_code([ExecuteCall("wall.get", {})] * 26)
    with pytest.raises(ValueError, match="method name"):
        build_execute_code([ExecuteCall("wall.get});API.x.y({", {})])


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(base=1, cap=8, jitter=lambda: 1.0)
    assert [backoff.delay(n) for n in range(6)] == [1, 2, 4, 8, 8, 8]
    low = Backoff(base=1, cap=8, jitter=lambda: 0.0)
    assert [low.delay(n) for n in range(3)] == [0.5, 1, 2]


async def test_client_from_unknown_host_raises_connection_error(
    http: aiohttp.ClientSession,
) -> None:
    client = VkClient(
        session=http, token=TOKEN, api_url="http://127.0.0.1:9/method", backoff=Backoff(attempts=1)
    )
    with pytest.raises(VkConnectionError):
        await client.wall_get(-1)


async def test_named_counters(fake_vk: FakeVk, make_client: MakeClient, clock: FakeClock) -> None:
    wall(fake_vk)
    metrics: dict[str, int] = {}
    client = make_client(
        metrics=metrics, quotas=QuotaTracker(limits={"wall.get": 4}, clock=clock.now)
    )
    fake_vk.fault("error", code=6, message="Too many requests per second")
    fake_vk.fault("truncated")
    await client.wall_get(-1)
    fake_vk.fault("error", code=15, message="Access denied")
    with pytest.raises(VkAccessDenied):
        await client.wall_get(-1)
    with pytest.raises(VkRateLimited):
        await client.wall_get(-1)
    assert metrics == {
        "collector.vk.requests": 4,
        "collector.vk.error.6": 1,
        "collector.vk.error.connection": 1,
        "collector.vk.error.15": 1,
        "collector.vk.retry.rate_limited": 1,
        "collector.vk.retry.connection": 1,
        "collector.vk.quota_refused.wall.get": 1,
    }
