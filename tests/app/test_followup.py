"""The follow-up job against the VK emulator: publish an answer, comment under it, run the job."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from pytest_aiohttp.plugin import AiohttpServer

from app.config import FollowupConfig
from app.followup import FollowupService, VkThreadReader, followup_jobs
from app.publish import AnswerPublisher, replies_of
from app.workflow import FOLLOWUP_LINK_VERSION, SYSTEM
from classifier.followup import FollowupClassifier
from classifier.lemmatizer import Lemmatizer
from collector.pool import VkClientPool
from collector.quotas import QuotaTracker
from collector.vk_client import Backoff, VkClient
from emulator.vk import FakeClock, VkEmulator
from storage.enums import IncidentStatus, Network, Resolution
from storage.repositories.events import EventRepository
from storage.repositories.followups import FollowupRepository
from storage.repositories.grouping import GroupingRepository
from storage.repositories.messages import MessageRepository
from storage.repositories.outbox import JobStateRepository
from storage.repositories.sources import SourceRepository
from tests.factories import World, new_incident, world

CITIZEN = 4242
NEIGHBOUR = 5151
LEMMATIZER = Lemmatizer()


@dataclass
class Setup:
    w: World
    emu: VkEmulator
    emu_clock: FakeClock
    publisher: AnswerPublisher
    reader: VkClientPool
    group_id: int

    def advance(self, seconds: float) -> None:
        """Move both clocks (the emulator's and the service's) forward."""
        self.emu_clock.advance(seconds)
        self.w.clock.advance(dt.timedelta(seconds=seconds))

    def service(self, **options: object) -> FollowupService:
        config = FollowupConfig(**options)  # type: ignore[arg-type]
        return FollowupService(
            sessions=self.w.sm,
            workflow=self.w.workflow,
            classifier=FollowupClassifier(LEMMATIZER.lemma),
            clock=self.w.clock,
            config=config,
            reader=VkThreadReader(self.reader),
        )


@pytest.fixture
async def setup(aiohttp_server: AiohttpServer, db_url: str) -> AsyncIterator[Setup]:
    clock = FakeClock()
    emu = VkEmulator(seed=11, groups=6, clock=clock)
    server = await aiohttp_server(emu.create_app())

    async def sleep(seconds: float) -> None:
        clock.advance(max(0.0, seconds))

    quotas = QuotaTracker()
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
            for token, kind in (
                ("vk-demo-service-1", "service"),
                ("vk-demo-community", "community"),
            )
        ]
        pool = VkClientPool(clients, quotas=quotas, monotonic=clock)
        replies = replies_of(pool)
        assert replies is not None
        w = world(db_url, start=dt.datetime.fromtimestamp(clock(), tz=dt.UTC))
        yield Setup(
            w,
            emu,
            clock,
            AnswerPublisher(sessions=w.sm, workflow=w.workflow, replies=replies, clock=w.clock),
            pool.subset(["service"]),
            group_id,
        )


async def published_incident(s: Setup) -> tuple[int, int, int]:
    """A citizen's post, stored and linked to an incident, answered and published in VK."""
    post = s.emu.publish_post(
        s.group_id, "Третий день нет холодной воды на Ленина 5", from_id=CITIZEN
    )
    owner_id = -s.group_id
    (vk_post,) = await s.reader.wall_get_by_id([f"{owner_id}_{post.id}"])
    w = s.w
    with w.sm.begin() as session:
        sources = SourceRepository(session)
        source = sources.find(Network.VK, str(owner_id)) or sources.add(Network.VK, str(owner_id))
        message_id = MessageRepository(session).upsert_post(source.id, vk_post, w.clock())
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
    incident = w.workflow.answer(incident, w.minzdrav, "Водоснабжение восстановлено 12.01.")
    incident = w.workflow.approve(incident, w.operator)
    s.advance(60)
    report = await s.publisher.run_once()
    assert report.ok, report.summary()
    assert w.workflow.get(incident.id, SYSTEM).status is IncidentStatus.PUBLISHED
    answer_comment = next(
        c.comment_id
        for c in s.emu.visible_comments(s.group_id, post.id)
        if c.from_id == -s.emu.world.official_group_id
    )
    return incident.id, post.id, answer_comment


def message_id_of(s: Setup, external_id: str) -> int:
    with s.w.sm() as session:
        found = MessageRepository(session).iter_records()
        return next(m.id for m in found if m.external_id == external_id)


async def test_a_not_resolved_reply_reopens_the_incident_with_the_message_linked(
    setup: Setup,
) -> None:
    s = setup
    incident_id, post_id, answer_comment = await published_incident(s)
    s.advance(3600)
    reply = s.emu.publish_comment(
        s.group_id,
        post_id,
        "Не решено! Вода так и не появилась 😡",
        from_id=CITIZEN,
        reply_to_comment=answer_comment,
    )

    report = await s.service().run_once()

    assert report.reopened == [incident_id]
    incident = s.w.workflow.get(incident_id, SYSTEM)
    assert incident.status is IncidentStatus.REOPENED
    external_id = f"{-s.group_id}_{post_id}_{reply.id}"
    message_id = message_id_of(s, external_id)
    with s.w.sm() as session:
        assert GroupingRepository(session).linked([message_id]) == {message_id: incident_id}
        event = EventRepository(session).for_incident(incident_id)[-1]
        verdicts = FollowupRepository(session).verdicts(incident_id)
        counters = GroupingRepository(session).counters(incident_id)
    assert event.kind == "reopen"
    assert event.payload["message_id"] == message_id
    assert event.payload["evidence"]["followup"] == "not_resolved"
    assert "Вода так и не появилась" in event.payload["reason"]
    assert verdicts == [(message_id, "not_resolved", "reopen")]
    assert counters.message_count == 2

    again = await s.service().run_once()
    assert again.reopened == []
    assert again.judged == 0


async def test_the_citizens_thanks_close_it_as_fixed_a_strangers_do_not(setup: Setup) -> None:
    s = setup
    incident_id, post_id, _ = await published_incident(s)
    s.advance(600)
    s.emu.publish_comment(s.group_id, post_id, "Спасибо, у нас тоже дали воду", from_id=NEIGHBOUR)

    first = await s.service().run_once()

    assert first.judged == 1
    assert first.closed_fixed == []
    assert s.w.workflow.get(incident_id, SYSTEM).status is IncidentStatus.PUBLISHED

    s.advance(600)
    s.emu.publish_comment(
        s.group_id, post_id, "Вода появилась, спасибо большое! 🙏", from_id=CITIZEN
    )

    second = await s.service().run_once()

    assert second.judged == 1  # the neighbour's comment is not judged twice
    assert second.closed_fixed == [incident_id]
    incident = s.w.workflow.get(incident_id, SYSTEM)
    assert incident.status is IncidentStatus.CLOSED
    assert incident.resolution is Resolution.FIXED


async def test_a_quiet_window_closes_it_as_answered_only_and_old_comments_are_ignored(
    setup: Setup,
) -> None:
    s = setup
    incident_id, post_id, _ = await published_incident(s)
    s.advance(3600)
    s.emu.publish_comment(s.group_id, post_id, "Подскажите номер диспетчерской", from_id=CITIZEN)

    quiet = await s.service(watch_days=2).run_once()

    assert quiet.judged == 1
    assert s.w.workflow.get(incident_id, SYSTEM).status is IncidentStatus.PUBLISHED
    s.advance(3 * 86400)

    late = await s.service(watch_days=2).run_once()

    assert late.closed_quiet == [incident_id]
    incident = s.w.workflow.get(incident_id, SYSTEM)
    assert incident.status is IncidentStatus.CLOSED
    assert incident.resolution is Resolution.ANSWERED_ONLY


async def test_the_job_is_registered_and_switched_off_by_config(setup: Setup) -> None:
    s = setup
    kwargs = {"sessions": s.w.sm, "workflow": s.w.workflow, "clock": s.w.clock}
    (job,) = followup_jobs(FollowupConfig(interval=120), lemma=LEMMATIZER.lemma, **kwargs)
    assert (job.name, job.interval_seconds) == ("followup", 120)
    assert followup_jobs(FollowupConfig(enabled=False), lemma=LEMMATIZER.lemma, **kwargs) == []
    incident_id, post_id, _ = await published_incident(s)
    s.advance(60)
    # Without a thread reader the job judges what the collector stored.
    comment = s.emu.publish_comment(s.group_id, post_id, "опять ничего не сделали", from_id=1)
    page = await s.reader.wall_get_comments(-s.group_id, post_id)
    with s.w.sm.begin() as session:
        source = SourceRepository(session).find(Network.VK, str(-s.group_id))
        assert source is not None
        for item in page.items:
            if item.id == comment.id:
                MessageRepository(session).upsert_comment(source.id, item, s.w.clock())

    await job.func()

    assert s.w.workflow.get(incident_id, SYSTEM).status is IncidentStatus.REOPENED
    with s.w.sm() as session:
        event = EventRepository(session).for_incident(incident_id)[-1]
        (grouping,) = [
            link
            for link in GroupingRepository(session).linked_messages([incident_id])
            if link.message_id == event.payload["message_id"]
        ]
    assert grouping.text == "опять ничего не сделали"
    assert grouping.grouping_version == FOLLOWUP_LINK_VERSION


async def test_one_process_at_a_time_watches_the_threads(setup: Setup) -> None:
    s = setup
    incident_id, post_id, _ = await published_incident(s)
    s.advance(60)
    s.emu.publish_comment(s.group_id, post_id, "Не решено", from_id=CITIZEN)
    with s.w.sm.begin() as session:
        assert JobStateRepository(session).claim_lease(
            "followup", owner="other", until=s.w.clock() + dt.timedelta(hours=1), now=s.w.clock()
        )

    busy = await s.service().run_once()

    assert busy.skipped
    assert s.w.workflow.get(incident_id, SYSTEM).status is IncidentStatus.PUBLISHED
    s.advance(2 * 3600)  # the other process died: its lease runs out

    after = await s.service().run_once()

    assert after.reopened == [incident_id]


async def test_a_killed_watcher_s_lease_is_taken_over_at_once(setup: Setup) -> None:
    s = setup
    incident_id, post_id, _ = await published_incident(s)
    s.advance(60)
    s.emu.publish_comment(s.group_id, post_id, "Не решено, вода так и течёт 😡", from_id=CITIZEN)
    dead = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await dead.wait()  # a daemon on this host SIGKILLed mid-run: its pid is gone
    killed = f"{socket.gethostname()}:{dead.pid}:0badf00d"
    with s.w.sm.begin() as session:
        assert JobStateRepository(session).claim_lease(
            "followup", owner=killed, until=s.w.clock() + dt.timedelta(minutes=30), now=s.w.clock()
        )

    report = await s.service().run_once()

    assert not report.skipped
    assert report.reopened == [incident_id]
