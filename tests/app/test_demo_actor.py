"""The demo actor: answers, approval, publication into the emulator, a citizen's «не решено»."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

from app.cli import build_parser
from app.commands.demo_actor import UNRESOLVED, ActorSettings, DemoActor
from app.commands.demo_cmd import demo_config, demo_environment, prepare_database, running_emulator
from app.config import load_config
from app.runtime import Listening, Service, serve, utc_clock
from classifier.regions import load_region
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import IncidentStatus
from storage.repositories import IncidentRepository
from storage.repositories.events import EventRepository
from tests.app.test_pipeline_support import LEMMATIZER, KeywordClassifier

ROOT = Path(__file__).resolve().parents[2]


def _truth(base_url: str, group_id: int) -> Any:
    url = f"{base_url}/_emulator/truth?group_id={group_id}"
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read().decode("utf-8"))


def test_the_actor_is_on_by_default_and_no_actor_turns_it_off() -> None:
    parser = build_parser()
    assert parser.parse_args(["demo"]).actor is True
    assert parser.parse_args(["demo", "--no-actor"]).actor is False


async def test_answered_published_into_the_emulator_and_reopened_by_a_citizen(
    tmp_path: Path,
) -> None:
    base = load_config(ROOT / "config.yaml", demo_environment({}))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with running_emulator(seed=1, groups=5, activity_speed=0.0) as emulator:
        # Long intervals: the test fires the jobs and the actor's rounds itself.
        config = demo_config(base, api_url=emulator.api_url, database_url=url, interval=3600)
        assert config.followup.interval == 3600  # the follow-up runs as often as the rest
        admin = emulator.admin()
        await asyncio.to_thread(prepare_database, config, admin)
        started: list[Service] = []
        ready = asyncio.Event()
        stop = asyncio.Event()

        def on_started(service: Service) -> None:
            started.append(service)
            ready.set()

        def on_listening(where: Listening) -> None:
            assert where.port > 0

        task = asyncio.create_task(
            serve(
                config,
                host="127.0.0.1",
                port=0,
                stop=stop,
                on_listening=on_listening,
                classifier=KeywordClassifier(),
                lemmatizer=LEMMATIZER,
                on_started=on_started,
            )
        )
        try:
            await asyncio.wait_for(ready.wait(), timeout=60)
            service = started[0]
            jobs = {job.name: job for job in service.jobs}
            await jobs["collect"].func()
            await jobs["process"].func()
            actor = DemoActor(
                sessions=service.sessions,
                workflow=service.workflow,
                emulator_url=emulator.base_url,
                clock=utc_clock,
                region=load_region(config.region.code),
                settings=ActorSettings(answers_per_round=4, brush_off_every=4, reopen_every=2),
            )
            first = await asyncio.to_thread(actor.step)
            assert len(first.answered) == 4, first
            second = await asyncio.to_thread(actor.step)
            # The brush-off (the 4th answer) goes back with the review aid's reason.
            assert len(second.approved) == 3, second
            assert len(second.sent_back) == 1, second
            await jobs["publish"].func()
            third = await asyncio.to_thread(actor.step)
            assert third.unresolved, third  # the first published answer gets «не решено»
            assert set(second.sent_back) <= set(third.answered)  # answered again after rework
            await jobs["followup"].func()
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)
        truth = [_truth(emulator.base_url, g["id"]) for g in admin["groups"]]
    sessions = make_sessionmaker(create_engine_for(url))
    with sessions() as s:
        incidents = {
            i.public_number: i for i in IncidentRepository(s).by_status(list(IncidentStatus))
        }
        events = EventRepository(s)
        kinds = {n: [e.kind for e in events.for_incident(i.id)] for n, i in incidents.items()}
        rework = [
            e.payload.get("comment", "")
            for n in second.sent_back
            for e in events.for_incident(incidents[n].id)
            if e.kind == "send_for_rework"
        ]
    published = [n for n, k in kinds.items() if "publish" in k]
    assert len(published) >= 2, kinds
    reopened = [n for n, k in kinds.items() if "reopen" in k]
    assert reopened == third.unresolved, kinds
    for number in third.thanked:  # the citizen's thanks close theirs as fixed
        assert "close" in kinds[number], kinds[number]
    assert rework[0].startswith("Демо-оператор: Формальная отписка")
    # The emulator holds the official community's replies and the citizen's answer to one.
    official = -int(admin["official_group_id"])
    comments = [c for t in truth for c in t["comments"]]
    replies = [c for c in comments if c.get("from_id") == official]
    assert len(replies) >= len(published)
    assert any("Фотоотчёт прилагается" in c["text"] for c in replies)
    assert any(c["text"] == UNRESOLVED for c in comments)


def test_one_round_after_another_on_the_test_world(sqlite_url: str) -> None:
    """Without the emulator: the rounds' decisions and the citizen's reply as posted."""
    from app.publish import answer_guid
    from app.workflow import SYSTEM
    from storage.repositories.answers import AnswerRepository
    from storage.repositories.followups import FollowupRepository
    from tests.factories import world
    from tests.web.conftest import populate

    w = world(sqlite_url)
    incidents = populate(w)
    posted: list[tuple[str, dict[str, Any]]] = []
    actor = DemoActor(
        sessions=w.sm,
        workflow=w.workflow,
        emulator_url="http://127.0.0.1:1/",
        clock=w.clock,
        region=load_region("kirov"),
        settings=ActorSettings(answers_per_round=1, brush_off_every=2, reopen_every=1),
        post=lambda url, body: posted.append((url, dict(body))),
    )
    first = actor.step()
    assert len(first.answered) == 1
    assert not first.approved
    second = actor.step()  # the first answer approved; the second one a brush-off
    assert second.approved == first.answered
    third = actor.step()
    assert third.sent_back == second.answered
    by_number = {i.public_number: i for i in incidents.values()}
    history = w.workflow.history(by_number[third.sent_back[0]].id, w.operator)
    assert history[-1].payload["comment"].startswith("Демо-оператор: Формальная отписка")
    # The publish job's part: the approved answer is posted as reply 555.
    number = second.approved[0]
    approved = by_number[number]
    with w.sm.begin() as s:
        answers = AnswerRepository(s)
        answer = answers.latest_final(approved.id)
        assert answer is not None
        now = w.clock()
        answers.record_reply(
            answer.id,
            external_reply_id="555",
            guid=answer_guid(answer.id),
            verified_at=now,
            now=now,
        )
    w.workflow.publish(w.workflow.get(approved.id, SYSTEM), SYSTEM, external_reply_id="555")
    fourth = actor.step()
    assert fourth.unresolved == [number]
    assert third.sent_back[0] in fourth.answered  # answered again after the rework
    ((url, body),) = posted
    assert url == "http://127.0.0.1:1/_emulator/comments"
    with w.sm() as s:
        (thread,) = FollowupRepository(s).published()
    assert body["text"] == UNRESOLVED
    assert body["reply_to_comment"] == 555
    assert str(body["from_id"]) in thread.citizen_ids
    assert body["date"] >= thread.published_at.timestamp()
    assert actor.step().unresolved == []  # one reply per published answer
    assert len(posted) == 1
