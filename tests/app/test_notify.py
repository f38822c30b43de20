"""Notifications: queued in the outbox, sent by e-mail (a real SMTP server) and webhook."""

from __future__ import annotations

import asyncio
import email
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope
from aiosmtpd.smtp import Session as SMTPSession
from pytest_aiohttp.plugin import AiohttpServer

from app.collect import process_owner_id
from app.config import NotificationsConfig, NotifyConfig, SmtpConfig
from app.notify import Channel, DeliveryError, Destination, NullChannel
from app.notify_channels import SmtpChannel, TelegramChannel, WebhookChannel, message_id
from app.notify_job import NotifyService, Recipients, notify_jobs
from storage.repositories.outbox import OutboxItem, OutboxRepository
from tests.factories import DESK, World, kirov, new_incident, routing, world


@dataclass
class Inbox:
    """An aiosmtpd handler keeping every message it accepted."""

    messages: list[email.message.Message] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(
        self, server: SMTPServer, session: SMTPSession, envelope: Envelope
    ) -> str:
        self.envelopes.append(envelope)
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))
        return "250 OK"


async def smtp_server(inbox: Inbox, port: int = 0) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTPServer(inbox, hostname="cur-test"), "127.0.0.1", port
    )


def recipients(**executor: NotifyConfig) -> Recipients:
    return Recipients(
        executors=executor,
        executor_names={"minzdrav": "Министерство здравоохранения"},
        supervisors_email=("duty@kirov.example.ru",),
    )


def service(w: World, channels: list[Channel], who: Recipients, **options: Any) -> NotifyService:
    config = NotificationsConfig(retry_base_seconds=60, **options)
    return NotifyService(
        sessions=w.sm,
        config=config,
        recipients=who,
        routing=routing(region_hours=DESK),
        channels=channels,
        clock=w.clock,
        zone="Europe/Kirov",
        public_url="https://cur.example.ru",
        owner="test",
    )


def smtp(port: int) -> SmtpChannel:
    return SmtpChannel(
        SmtpConfig(
            host="127.0.0.1", port=port, security="none", from_address="cur@kirov.example.ru"
        )
    )


def assign(w: World, title_group: str = "Здравоохранение") -> int:
    incident = w.workflow.open_incident(new_incident(title_group))
    w.workflow.assign(incident, "minzdrav", w.operator)
    return incident.id


@pytest.fixture
async def inbox() -> AsyncIterator[tuple[Inbox, int]]:
    box = Inbox()
    server = await smtp_server(box)
    port = int(server.sockets[0].getsockname()[1])
    yield box, port
    server.close()
    await server.wait_closed()


def rows(w: World) -> list[tuple[OutboxItem, str, int, Any]]:
    with w.sm() as session:
        return OutboxRepository(session).all()


async def test_a_new_assignment_is_mailed_once(db_url: str, inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    incident_id = assign(w)
    notify = service(
        w, [smtp(port)], recipients(minzdrav=NotifyConfig(email="zdrav@kirov.example.ru"))
    )

    report = await notify.run_once()
    again = await notify.run_once()

    assert (report.queued, report.sent) == (1, 1)
    assert (again.queued, again.sent) == (0, 0)
    (message,) = box.messages
    assert message["To"] == "zdrav@kirov.example.ru"
    assert message["Subject"].startswith("[ЦУР] Новый инцидент: T-")
    body = message.get_content()
    assert "Министерство здравоохранения" in body
    assert "Срок ответа: 15.10.2025 10:00 (Europe/Kirov)" in body
    assert f"https://cur.example.ru/incidents/{incident_id}" in body
    ((item, status, attempts, sent_at),) = rows(w)
    assert (status, attempts) == ("sent", 1)
    assert sent_at == w.clock()
    assert message["Message-ID"] == message_id(item.key, "cur@kirov.example.ru")


async def test_outside_working_hours_it_waits_for_the_opening(
    db_url: str, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    w = world(db_url, start=kirov("2025-10-14T20:00"))  # Tuesday evening
    assign(w)
    notify = service(
        w, [smtp(port)], recipients(minzdrav=NotifyConfig(email="zdrav@kirov.example.ru"))
    )

    evening = await notify.run_once()
    w.clock.set(kirov("2025-10-15T08:59"))
    before = await notify.run_once()
    w.clock.set(kirov("2025-10-15T09:00"))
    morning = await notify.run_once()

    assert (evening.queued, evening.sent, before.sent, morning.sent) == (1, 0, 0, 1)
    assert len(box.messages) == 1


async def test_an_smtp_outage_is_retried_with_backoff_and_sends_once(db_url: str) -> None:
    box = Inbox()
    probe = await smtp_server(box)
    port = int(probe.sockets[0].getsockname()[1])
    probe.close()
    await probe.wait_closed()  # the port is free: the server is "down"
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    assign(w)
    notify = service(
        w, [smtp(port)], recipients(minzdrav=NotifyConfig(email="zdrav@kirov.example.ru"))
    )

    down = await notify.run_once()
    assert (down.sent, down.retried) == (0, 1)
    ((_, status, attempts, _),) = rows(w)
    assert (status, attempts) == ("pending", 1)

    server = await smtp_server(box, port)
    try:
        w.clock.advance(timedelta(seconds=30))
        too_early = await notify.run_once()
        w.clock.advance(timedelta(seconds=31))
        back = await notify.run_once()
        after = await notify.run_once()
    finally:
        server.close()
        await server.wait_closed()

    assert too_early.sent == 0
    assert back.sent == 1
    assert after.sent == 0
    assert len(box.messages) == 1
    ((_, status, attempts, _),) = rows(w)
    assert (status, attempts) == ("sent", 2)


async def test_the_last_attempt_gives_up(db_url: str) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    assign(w)

    class Refusing:
        name = "email"

        async def deliver(self, item: OutboxItem, destination: Destination) -> None:
            raise DeliveryError("connection refused")

    notify = service(
        w,
        [Refusing()],
        recipients(minzdrav=NotifyConfig(email="zdrav@kirov.example.ru")),
        max_attempts=2,
    )
    first = await notify.run_once()
    w.clock.advance(timedelta(minutes=5))
    second = await notify.run_once()
    w.clock.advance(timedelta(hours=5))
    third = await notify.run_once()

    assert (first.retried, second.failed, third.failed) == (1, 1, 0)
    ((_, status, attempts, _),) = rows(w)
    assert (status, attempts) == ("failed", 2)


async def test_a_process_that_died_after_claiming_leaves_it_to_the_next(
    db_url: str, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    assign(w)
    who = recipients(minzdrav=NotifyConfig(email="zdrav@kirov.example.ru"))
    dead = service(w, [smtp(port)], who)
    dead.queue_new()
    with w.sm.begin() as session:  # claimed, then the process was killed before sending
        (claimed,) = OutboxRepository(session).claim_due(
            now=w.clock(), owner="dead", lease=timedelta(minutes=5), channels=["email"], limit=10
        )
    alive = service(w, [smtp(port)], who)

    during = await alive.run_once()
    w.clock.advance(timedelta(minutes=6))
    after = await alive.run_once()

    assert (during.sent, after.sent) == (0, 1)
    assert len(box.messages) == 1
    with w.sm.begin() as session:  # the dead process's late answer no longer counts
        assert not OutboxRepository(session).mark_sent(claimed.id, "dead", now=w.clock())


async def test_escalations_reach_supervisors_and_the_executor(
    db_url: str, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    assign(w)
    notify = service(
        w,
        [smtp(port)],
        recipients(minzdrav=NotifyConfig(email="zdrav@kirov.example.ru", events=("overdue",))),
    )
    await notify.run_once()
    w.clock.set(kirov("2025-10-15T16:00"))  # 8 working hours are long gone
    plan = w.workflow.escalate()
    assert [e.level.value for e in plan.send_now] == ["overdue"]

    report = await notify.run_once()

    assert report.sent == 2
    subjects = sorted((m["To"], m["Subject"].split(":")[0]) for m in box.messages)
    assert subjects == [
        ("duty@kirov.example.ru", "[ЦУР] Срок ответа истёк"),
        ("zdrav@kirov.example.ru", "[ЦУР] Срок ответа истёк"),
    ]  # the executor asked for overdue deadlines only, not for new assignments


@dataclass
class Hook:
    status: list[int]
    received: list[tuple[dict[str, Any], str]] = field(default_factory=list)


@pytest.fixture
async def hook(aiohttp_server: AiohttpServer) -> tuple[Hook, str]:
    state = Hook(status=[])

    async def receive(request: web.Request) -> web.Response:
        state.received.append((await request.json(), request.headers["Idempotency-Key"]))
        return web.Response(status=state.status.pop(0) if state.status else 200)

    app = web.Application()
    app.router.add_post("/hooks/cur", receive)
    server = await aiohttp_server(app)
    return state, str(server.make_url("/hooks/cur"))


async def test_a_webhook_gets_json_retries_on_5xx_and_gives_up_on_4xx(
    db_url: str, hook: tuple[Hook, str]
) -> None:
    state, url = hook
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    first_id = assign(w)
    async with aiohttp.ClientSession() as http:
        notify = service(w, [WebhookChannel(http)], recipients(minzdrav=NotifyConfig(webhook=url)))
        state.status = [502]
        failed = await notify.run_once()
        w.clock.advance(timedelta(minutes=2))
        delivered = await notify.run_once()
        assign(w)
        state.status = [410]
        refused = await notify.run_once()

    assert (failed.retried, delivered.sent, refused.failed) == (1, 1, 1)
    (body, key), (again, same_key), (second, _) = state.received
    assert body == again
    assert key == same_key == body["key"]
    assert body["event"] == "assigned"
    assert body["incident_id"] == first_id
    assert body["executor"] == "minzdrav"
    assert body["public_number"].startswith("T-")
    assert "Новый инцидент" in body["text"]
    assert second["incident_id"] != first_id


def test_channels_satisfy_the_protocol() -> None:
    assert isinstance(NullChannel("email"), Channel)
    assert isinstance(smtp(25), Channel)
    with pytest.raises(ValueError, match=r"smtp\.host"):
        SmtpChannel(SmtpConfig())


def test_the_job_is_registered_at_its_interval(db_url: str) -> None:
    w = world(db_url)
    config = NotificationsConfig(interval=30)
    notify = service(w, [NullChannel("email")], recipients())
    (job,) = notify_jobs(notify, config)
    assert (job.name, job.interval_seconds) == ("notify", 30)
    assert notify_jobs(notify, NotificationsConfig(enabled=False)) == []


async def test_the_first_run_skips_history_and_later_runs_queue_each_event_once(
    db_url: str,
) -> None:
    w = world(db_url, start=kirov("2025-10-14T08:00"))
    assign(w)  # two hours before the notify job first runs: history
    w.clock.set(kirov("2025-10-14T10:00"))
    fresh = assign(w)
    notify = service(
        w, [NullChannel("email")], recipients(minzdrav=NotifyConfig(email="z@kirov.example.ru"))
    )

    first = notify.queue_new()
    w.clock.advance(timedelta(minutes=1))
    later = assign(w)
    second = notify.queue_new()
    third = notify.queue_new()

    assert (first, second, third) == (1, 1, 0)
    queued = [item.incident_id for item, *_ in rows(w)]
    assert queued == [fresh, later]


async def test_a_telegram_chat_gets_the_message_through_the_bot(
    db_url: str, aiohttp_server: AiohttpServer
) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    answers = [(403, {"ok": False, "description": "Forbidden: bot was blocked by the user"})]

    async def send_message(request: web.Request) -> web.Response:
        sent.append((request.match_info["token"], await request.json()))
        status, body = answers.pop(0) if answers else (200, {"ok": True, "result": {}})
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", send_message)
    server = await aiohttp_server(app)
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    assign(w)
    async with aiohttp.ClientSession() as http:
        channel = TelegramChannel(http, token="123:secret-token", api_url=str(server.make_url("")))
        who = recipients(minzdrav=NotifyConfig(telegram_chat="-1001234567890"))
        blocked = await service(w, [channel], who).run_once()
        assign(w)
        delivered = await service(w, [channel], who).run_once()

    assert (blocked.failed, delivered.sent) == (1, 1)
    assert "bot was blocked" in blocked.errors[0]
    assert "secret-token" not in blocked.errors[0]
    token, body = sent[-1]
    assert token == "123:secret-token"
    assert body["chat_id"] == "-1001234567890"
    assert body["text"].startswith("[ЦУР] Новый инцидент: T-")
    assert isinstance(channel, Channel)


async def bot_api_failing_once(
    aiohttp_server: AiohttpServer, failure: Callable[[], web.Response]
) -> tuple[TestServer, list[int]]:
    """A Bot API whose first sendMessage gets ``failure()`` and the others succeed."""
    calls: list[int] = []

    async def send_message(request: web.Request) -> web.Response:
        calls.append(1)
        if len(calls) == 1:
            return failure()
        return web.json_response({"ok": True, "result": {}})

    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", send_message)
    return await aiohttp_server(app), calls


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"", "text/html", id="empty"),
        pytest.param(b"null", "application/json", id="json-null"),
        pytest.param(b'["Bad Gateway"]', "application/json", id="json-list"),
        pytest.param(b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", id="html"),
    ],
)
async def test_a_telegram_error_without_a_json_object_is_retried_not_a_crash(
    sqlite_url: str, aiohttp_server: AiohttpServer, body: bytes, content_type: str
) -> None:
    # A proxy in front of the Bot API, between two deploys.
    server, calls = await bot_api_failing_once(
        aiohttp_server, lambda: web.Response(status=502, body=body, content_type=content_type)
    )
    w = world(sqlite_url, start=kirov("2025-10-14T10:00"))
    assign(w)
    async with aiohttp.ClientSession() as http:
        channel = TelegramChannel(http, token="123:secret-token", api_url=str(server.make_url("")))
        notify = service(w, [channel], recipients(minzdrav=NotifyConfig(telegram_chat="-100777")))
        failed = await notify.run_once()
        w.clock.advance(timedelta(minutes=5))
        again = await notify.run_once()

    assert (failed.retried, failed.sent) == (1, 0)
    assert "HTTP 502" in failed.errors[0]
    assert "secret-token" not in failed.errors[0]
    assert (again.sent, len(calls)) == (1, 2)


class Broken:
    """A channel with a bug for one recipient: raises something that is not a DeliveryError."""

    name = "email"

    def __init__(self) -> None:
        self.delivered: list[str] = []

    async def deliver(self, item: OutboxItem, destination: Destination) -> None:
        if "zdrav@" in destination.emails[0]:
            raise KeyError("chat_id")
        self.delivered.append(destination.emails[0])


async def test_a_channel_bug_on_one_notification_does_not_stop_the_others(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    w = world(sqlite_url, start=kirov("2025-10-14T10:00"))
    assign(w)
    incident = w.workflow.open_incident(new_incident())
    w.workflow.assign(incident, "mintrans", w.operator)
    channel = Broken()
    who = Recipients(
        executors={
            "minzdrav": NotifyConfig(email="zdrav@kirov.example.ru"),
            "mintrans": NotifyConfig(email="trans@kirov.example.ru"),
        },
        executor_names={},
    )

    report = await service(w, [channel], who).run_once()

    assert (report.queued, report.sent, report.retried) == (2, 1, 1)
    assert channel.delivered == ["trans@kirov.example.ru"]
    assert "the email channel failed: KeyError" in caplog.text
    statuses = sorted(status for _, status, _, _ in rows(w))
    assert statuses == ["pending", "sent"]  # the failed one waits for its retry, not lost


async def test_a_notification_claimed_by_a_killed_process_is_sent_at_once(
    sqlite_url: str,
) -> None:
    w = world(sqlite_url, start=kirov("2025-10-14T10:00"))
    assign(w)
    outbox = Broken()  # delivers to every address but the zdrav@ one
    who = recipients(minzdrav=NotifyConfig(email="duty@minzdrav.kirov.example.ru"))
    notify = service(w, [outbox], who)
    assert notify.queue_new() == 1
    dead = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await dead.wait()  # a daemon on this host, SIGKILLed after claiming, before sending
    killed = f"{socket.gethostname()}:{dead.pid}:c0ffee00"
    with w.sm.begin() as session:
        (claimed,) = OutboxRepository(session).claim_due(
            now=w.clock(), owner=killed, lease=timedelta(minutes=5), channels=["email"], limit=5
        )
    w.clock.advance(timedelta(seconds=30))
    notify = NotifyService(
        sessions=w.sm,
        config=NotificationsConfig(retry_base_seconds=60),
        recipients=who,
        routing=routing(region_hours=DESK),
        channels=[outbox],
        clock=w.clock,
        zone="Europe/Kirov",
        owner=process_owner_id(),
    )

    report = await notify.run_once()

    assert report.sent == 1
    assert outbox.delivered == ["duty@minzdrav.kirov.example.ru"]
    assert [status for item, status, _, _ in rows(w) if item.id == claimed.id] == ["sent"]


async def test_a_telegram_flood_wait_is_honoured_not_retried_sooner(
    sqlite_url: str, aiohttp_server: AiohttpServer
) -> None:
    # The Bot API's flood control: wait 600 s, longer than our backoff.
    flood = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 600",
        "parameters": {"retry_after": 600},
    }
    server, calls = await bot_api_failing_once(
        aiohttp_server, lambda: web.json_response(flood, status=429)
    )
    w = world(sqlite_url, start=kirov("2025-10-14T10:00"))
    assign(w)
    async with aiohttp.ClientSession() as http:
        channel = TelegramChannel(http, token="123:secret-token", api_url=str(server.make_url("")))
        notify = service(w, [channel], recipients(minzdrav=NotifyConfig(telegram_chat="-100777")))
        limited = await notify.run_once()
        w.clock.advance(timedelta(minutes=5))  # past the 60 s backoff, inside the 600 s asked
        early = await notify.run_once()
        calls_before = len(calls)
        w.clock.advance(timedelta(minutes=6))
        later = await notify.run_once()

    assert (limited.retried, limited.sent) == (1, 0)
    assert "HTTP 429" in limited.errors[0]
    assert (early.sent, early.retried, calls_before) == (0, 0, 1)
    assert (later.sent, len(calls)) == (1, 2)


async def test_a_webhook_retry_after_header_is_honoured(
    sqlite_url: str, aiohttp_server: AiohttpServer
) -> None:
    calls: list[int] = []

    async def hook(request: web.Request) -> web.Response:
        calls.append(1)
        if len(calls) == 1:
            return web.Response(status=503, headers={"Retry-After": "900"})
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    w = world(sqlite_url, start=kirov("2025-10-14T10:00"))
    assign(w)
    async with aiohttp.ClientSession() as http:
        notify = service(
            w,
            [WebhookChannel(http)],
            recipients(minzdrav=NotifyConfig(webhook=str(server.make_url("/hook")))),
        )
        await notify.run_once()
        w.clock.advance(timedelta(minutes=10))
        early = await notify.run_once()
        calls_before = len(calls)
        w.clock.advance(timedelta(minutes=6))
        later = await notify.run_once()

    assert (early.sent, calls_before) == (0, 1)
    assert (later.sent, len(calls)) == (1, 2)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (30, 30.0),
        ("120", 120.0),
        (" 7 ", 7.0),
        (0, None),
        (-5, None),
        (True, None),
        ("Wed, 21 Oct 2026 07:28:00 GMT", None),
        ("", None),
        (None, None),
        (10**9, None),
    ],
)
def test_retry_delays_read_from_the_other_side(value: object, expected: float | None) -> None:
    from app.notify_channels import _seconds

    assert _seconds(value) == expected
