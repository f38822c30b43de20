"""Publishing approved answers into the VK emulator over real HTTP: once, recorded, verified."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from pytest_aiohttp.plugin import AiohttpServer

from app.cli import main
from app.collect import CollectService
from app.commands.demo_cmd import demo_config, demo_environment
from app.config import load_config
from app.publish import (
    PUBLISH_FAILED_EVENT,
    AnswerPublisher,
    answer_guid,
    publish_jobs,
    replies_of,
)
from app.workflow import SYSTEM
from collector.pool import VkClientPool
from collector.quotas import QuotaTracker
from collector.vk_client import Backoff, VkClient
from emulator.vk import FakeClock, VkEmulator
from storage.enums import AnswerStatus, IncidentStatus, Network
from storage.repositories.answers import AnswerRepository
from storage.repositories.events import EventRepository
from storage.repositories.grouping import GroupingRepository
from storage.repositories.messages import MessageRepository
from storage.repositories.sources import SourceRepository
from tests.factories import World, new_incident, world

ROOT = Path(__file__).resolve().parents[2]
ANSWER = "Запись к терапевту открыта с 20.10, звоните по номеру 122."


@dataclass
class Setup:
    w: World
    emu: VkEmulator
    publisher: AnswerPublisher
    reader: VkClientPool
    group_id: int
    api_url: str
    db_url: str


@pytest.fixture
async def setup(aiohttp_server: AiohttpServer, db_url: str) -> AsyncIterator[Setup]:
    clock = FakeClock()
    emu = VkEmulator(seed=7, groups=6, clock=clock)
    server = await aiohttp_server(emu.create_app())

    async def sleep(seconds: float) -> None:
        clock.advance(max(0.0, seconds))

    quotas = QuotaTracker()
    tokens = (("vk-demo-service-1", "service"), ("vk-demo-community", "community"))
    group_id = next(
        g.id
        for g in emu.world.groups.values()
        if g.id != emu.world.official_group_id and g.state == "open"
    )
    async with aiohttp.ClientSession() as http:
        clients = [
            VkClient(
                session=http,
                token=token,
                api_url=str(server.make_url("/method")),
                name=token,
                kind=kind,
                quotas=quotas,
                sleep=sleep,
                backoff=Backoff(jitter=lambda: 0.5),
            )
            for token, kind in tokens
        ]
        pool = VkClientPool(clients, quotas=quotas, monotonic=clock)
        replies = replies_of(pool)
        assert replies is not None
        w = world(db_url)
        yield Setup(
            w,
            emu,
            AnswerPublisher(sessions=w.sm, workflow=w.workflow, replies=replies, clock=w.clock),
            pool.subset(["service"]),
            group_id,
            str(server.make_url("/method")),
            db_url,
        )


async def approved_incident(s: Setup, *, comment: bool = False) -> tuple[int, int, int | None]:
    """Post a complaint in the emulator, store it, and drive its incident to ``approved``."""
    post = s.emu.publish_post(s.group_id, "Не могу записаться к терапевту уже неделю")
    reply_to = None
    if comment:
        reply_to = s.emu.publish_comment(s.group_id, post.id, "И у нас в Слободском так же").id
    owner_id = -s.group_id
    pool = s.reader
    (vk_post,) = await pool.wall_get_by_id([f"{owner_id}_{post.id}"])
    comments = await pool.wall_get_comments(owner_id, post.id)
    w = s.w
    with w.sm.begin() as session:
        sources = SourceRepository(session)
        source = sources.find(Network.VK, str(owner_id)) or sources.add(Network.VK, str(owner_id))
        messages = MessageRepository(session)
        message_id = messages.upsert_post(source.id, vk_post, w.clock())
        for item in comments.items:
            comment_row = messages.upsert_comment(source.id, item, w.clock())
            if item.id == reply_to:
                message_id = comment_row
    incident = w.workflow.open_incident(new_incident())
    with w.sm.begin() as session:
        GroupingRepository(session).link(
            incident_id=incident.id,
            message_id=message_id,
            grouping_version="test",
            evidence={},
            now=w.clock(),
        )
    incident = w.workflow.assign(incident, "minzdrav", w.operator)
    incident = w.workflow.accept(incident, w.minzdrav)
    incident = w.workflow.answer(incident, w.minzdrav, ANSWER)
    incident = w.workflow.approve(incident, w.operator)
    assert incident.status is IncidentStatus.APPROVED
    return incident.id, post.id, reply_to


def official_replies(s: Setup, post_id: int) -> list[tuple[int, str, int | None]]:
    return [
        (c.comment_id, c.text, c.reply_to_comment)
        for c in s.emu.visible_comments(s.group_id, post_id)
        if c.from_id == -s.emu.world.official_group_id
    ]


def answer_row(s: Setup, incident_id: int) -> tuple[int, str | None, str, dt.datetime | None]:
    with s.w.sm() as session:
        answers = AnswerRepository(session)
        answer = answers.latest_final(incident_id)
        assert answer is not None
        reply_id, guid, verified_at = answers.reply_of(answer.id)
        assert answer.status in (AnswerStatus.APPROVED, AnswerStatus.PUBLISHED)
        return answer.id, reply_id, guid, verified_at


async def test_approved_answer_is_posted_once_recorded_verified_and_published(
    setup: Setup,
) -> None:
    s = setup
    incident_id, post_id, _ = await approved_incident(s)

    report = await s.publisher.run_once()

    assert report.ok
    assert report.count("published") == 1
    (reply,) = official_replies(s, post_id)
    assert reply[1:] == (ANSWER, None)
    answer_id, reply_id, guid, verified_at = answer_row(s, incident_id)
    assert reply_id == str(reply[0])
    assert guid == answer_guid(answer_id)
    assert verified_at is not None
    assert s.w.workflow.get(incident_id, SYSTEM).status is IncidentStatus.PUBLISHED

    again = await s.publisher.run_once()

    assert again.outcomes == []
    assert len(official_replies(s, post_id)) == 1


async def test_an_answer_to_a_comment_goes_into_its_thread(setup: Setup) -> None:
    s = setup
    incident_id, post_id, comment_id = await approved_incident(s, comment=True)

    report = await s.publisher.run_once()

    assert report.ok
    (reply,) = official_replies(s, post_id)
    assert reply[1:] == (ANSWER, comment_id)
    assert s.w.workflow.get(incident_id, SYSTEM).status is IncidentStatus.PUBLISHED


async def test_flood_control_defers_and_a_dropped_answer_is_not_posted_twice(
    setup: Setup,
) -> None:
    s = setup
    incident_id, post_id, _ = await approved_incident(s)
    s.emu.inject("error", error_code=9, method="wall.createComment")

    first = await s.publisher.run_once()

    assert not first.ok
    assert first.count("deferred") == 1
    assert official_replies(s, post_id) == []
    assert s.w.workflow.get(incident_id, SYSTEM).status is IncidentStatus.APPROVED

    # VK took the comment but its answer never arrived (as if the connection dropped after it):
    answer_id = answer_row(s, incident_id)[0]
    taken = s.emu.call(
        "wall.createComment",
        {
            "v": "5.199",
            "access_token": "vk-demo-community",
            "owner_id": str(-s.group_id),
            "post_id": str(post_id),
            "message": ANSWER,
            "guid": answer_guid(answer_id),
        },
    )
    assert "response" in taken
    # ... and now connections drop: the client's retries carry the same guid.
    s.emu.inject("drop", method="wall.createComment")
    s.emu.inject("drop", method="wall.getComments")

    second = await s.publisher.run_once()

    assert len(official_replies(s, post_id)) == 1
    if not second.ok:  # reading back failed: the stored reply is verified on the next run
        assert (await s.publisher.run_once()).ok
    assert len(official_replies(s, post_id)) == 1
    assert s.w.workflow.get(incident_id, SYSTEM).status is IncidentStatus.PUBLISHED


async def test_a_crash_after_vk_took_the_answer_reposts_nothing(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = setup
    incident_id, post_id, _ = await approved_incident(s)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed before storing the reply")

    with monkeypatch.context() as patch:
        patch.setattr(AnswerRepository, "record_reply", crash)
        with pytest.raises(RuntimeError):
            await s.publisher.run_once()
    assert len(official_replies(s, post_id)) == 1

    report = await s.publisher.run_once()

    assert report.ok
    (reply,) = official_replies(s, post_id)
    assert answer_row(s, incident_id)[1] == str(reply[0])
    assert s.w.workflow.get(incident_id, SYSTEM).status is IncidentStatus.PUBLISHED


async def test_closed_comments_keep_the_incident_approved_with_a_reason(setup: Setup) -> None:
    s = setup
    incident_id, post_id, _ = await approved_incident(s)
    s.emu.close_comments(s.group_id, post_id)

    report = await s.publisher.run_once()
    again = await s.publisher.run_once()

    assert [o.status for o in report.outcomes + again.outcomes] == ["failed", "failed"]
    assert "comments_closed" in (report.outcomes[0].error or "")
    assert s.w.workflow.get(incident_id, SYSTEM).status is IncidentStatus.APPROVED
    with s.w.sm() as session:
        failures = [
            e
            for e in EventRepository(session).for_incident(incident_id)
            if e.kind == PUBLISH_FAILED_EVENT
        ]
    assert [e.payload["reason"] for e in failures] == ["comments_closed"]  # recorded once
    assert answer_row(s, incident_id)[1] is None


async def test_the_publish_command_publishes_and_exits_1_on_a_failure(
    setup: Setup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = setup
    shipped = (ROOT / "config.yaml").read_text(encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(shipped.replace("    enabled: false", "    enabled: true", 1), "utf-8")
    for name, value in {
        "IM_DATABASE_URL": s.db_url,
        "IM_VK_API_URL": s.api_url,
        "VK_SERVICE_TOKEN": "vk-demo-service-1",
        "VK_COMMUNITY_TOKEN": "vk-demo-community",
    }.items():
        monkeypatch.setenv(name, value)
    published, post_id, _ = await approved_incident(s)
    closed, closed_post, _ = await approved_incident(s)
    s.emu.close_comments(s.group_id, closed_post)
    argv = ["--config", str(config), "publish", "--once"]

    code = await asyncio.to_thread(main, argv)

    captured = capsys.readouterr()
    assert code == 1
    assert "published 1, deferred 0, failed 1" in captured.err
    assert f"incident {closed} " in captured.err
    assert len(official_replies(s, post_id)) == 1
    assert s.w.workflow.get(published, SYSTEM).status is IncidentStatus.PUBLISHED
    assert s.w.workflow.get(closed, SYSTEM).status is IncidentStatus.APPROVED

    s.emu.close_comments(s.group_id, closed_post, closed=False)
    assert await asyncio.to_thread(main, argv) == 0
    assert "published 1, deferred 0, failed 0" in capsys.readouterr().out
    assert len(official_replies(s, post_id)) == 1


async def test_the_publish_job_runs_every_collect_interval_and_publishes(setup: Setup) -> None:
    s = setup
    base = load_config(ROOT / "config.yaml", demo_environment({}))
    config = demo_config(base, api_url=s.api_url, database_url=s.db_url, interval=120)
    collector = CollectService(sessions=s.w.sm, api=s.reader)
    incident_id, post_id, _ = await approved_incident(s)

    assert publish_jobs(config, workflow=s.w.workflow, collector=None) == []
    (job,) = publish_jobs(config, workflow=s.w.workflow, collector=collector)
    assert (job.name, job.interval_seconds) == ("publish", config.scheduler.collect_interval)
    await job.func()
    await job.func()

    assert len(official_replies(s, post_id)) == 1
    assert s.w.workflow.get(incident_id, SYSTEM).status is IncidentStatus.PUBLISHED
