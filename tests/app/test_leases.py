"""Lease owners, job leases held by the daemon's runner, and the database-outage tracker."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from app.daemon import JobRunner, JobSpec
from app.leases import JobBusy, JobLeases, owner_is_dead, process_owner_id
from app.outage import DatabaseOutage, database_unreachable
from storage.errors import StorageError
from storage.repositories.jobs import JobLeaseRepository
from tests.app.emulated_vk import migrated_sessions

HOST = socket.gethostname()


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    yield from migrated_sessions(db_url)


def dead_pid() -> int:
    """Return the pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_an_owner_on_this_host_whose_pid_is_gone_is_dead() -> None:
    me = process_owner_id()
    assert me.startswith(f"{HOST}:{os.getpid()}:")
    assert owner_is_dead(f"{HOST}:{dead_pid()}:0a1b2c3d", me)
    assert not owner_is_dead(f"{HOST}:{os.getppid()}:0a1b2c3d", me)  # alive
    assert not owner_is_dead(me, me)
    # This very pid under another id: an earlier life of the pid (a restarted container).
    assert owner_is_dead(f"{HOST}:{os.getpid()}:ffffffff", me)
    # Another host cannot be checked; odd owner ids are never called dead.
    assert not owner_is_dead(f"другой-хост:{dead_pid()}:0a1b2c3d", me)
    for odd in ("test", "a:b", f"{HOST}:x:y", f"{HOST}:0:z"):
        assert not owner_is_dead(odd, me)


async def test_an_exclusive_job_runs_in_one_process_and_is_taken_over_when_it_dies(
    sessions: sessionmaker[Session],
) -> None:
    first = JobLeases(sessions, owner=f"{HOST}:{dead_pid()}:aaaaaaaa", lease_seconds=60)
    second = JobLeases(sessions, owner=process_owner_id(), lease_seconds=60)
    alive = JobLeases(sessions, owner=f"{HOST}:{os.getppid()}:bbbbbbbb", lease_seconds=60)
    ran: list[str] = []

    async def job() -> None:
        ran.append("ran")

    runner = JobRunner(leases=alive)
    async with alive.hold("process") as held:
        assert held
        # Another live process holds it: the run is skipped.
        other = JobRunner(leases=second)
        await other.run(JobSpec("process", job, 1))
        assert ran == []
        assert other.skipped == {"process": 1}
        # A job that is not exclusive runs anyway.
        await other.run(JobSpec("collect", job, 1, exclusive=False))
        assert ran == ["ran"]
    await runner.run(JobSpec("process", job, 1))  # given back after the block
    assert ran == ["ran", "ran"]
    # A holder whose pid is gone (it was SIGKILLed) is taken over at once.
    assert await asyncio.to_thread(first._acquire, "process")
    await JobRunner(leases=second).run(JobSpec("process", job, 1))
    assert ran == ["ran", "ran", "ran"]
    with sessions() as s:
        assert JobLeaseRepository(s).owners() == []


async def test_the_heartbeat_renews_a_long_job_lease(sessions: sessionmaker[Session]) -> None:
    leases = JobLeases(sessions, owner=process_owner_id(), lease_seconds=0.3)
    async with leases.hold("process") as held:
        assert held
        await asyncio.sleep(0.5)  # longer than one lease: renewed meanwhile
        with sessions() as s:
            holder = JobLeaseRepository(s).holder("process", dt.datetime.now(dt.UTC))
        assert holder == leases.owner


def test_a_blocking_hold_renews_refuses_a_live_holder_and_gives_the_job_back(
    sessions: sessionmaker[Session],
) -> None:
    import time

    # Two live owners that one process can stand for: a live pid here, and another host.
    mine = JobLeases(sessions, owner=f"{HOST}:{os.getppid()}:cccccccc", lease_seconds=0.3)
    daemon = JobLeases(sessions, owner="сервер-2:4242:dddddddd", lease_seconds=60)
    with mine.hold_blocking("process"):
        time.sleep(0.5)  # longer than one lease: the thread renewed it meanwhile
        with sessions() as s:
            assert JobLeaseRepository(s).holder("process", dt.datetime.now(dt.UTC)) == mine.owner
        with pytest.raises(JobBusy) as busy, daemon.hold_blocking("process"):
            pytest.fail("a second holder ran beside the first")
        assert busy.value.holder == mine.owner
    with sessions() as s:  # given back at the end of the block
        assert JobLeaseRepository(s).holder("process", dt.datetime.now(dt.UTC)) is None
    with daemon.hold_blocking("process"), pytest.raises(JobBusy), mine.hold_blocking("process"):
        pytest.fail("the command ran beside a live daemon")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def unreachable() -> StorageError:
    return StorageError(
        "cannot connect to database postgresql+psycopg://im@127.0.0.1:5/im: "
        "connection failed: Connection refused"
    )


async def test_an_outage_is_logged_once_each_way_and_paces_the_jobs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    runner = JobRunner(outage=DatabaseOutage(clock=clock, first_pause=1, max_pause=4))
    calls: list[float] = []
    down = True

    async def job() -> None:
        calls.append(clock.now)
        if down:
            raise unreachable()

    spec = JobSpec("deadlines", job, 1)
    with caplog.at_level(logging.INFO):
        for step in range(40):  # 20 s of ticks every 0.5 s
            clock.now = step * 0.5
            if step == 30:
                down = False
            await runner.run(spec)
    warnings = [r for r in caplog.records if "database unreachable" in r.getMessage()]
    back = [r for r in caplog.records if "database reachable again" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "Connection refused" in warnings[0].getMessage()
    assert len(back) == 1
    assert not any(r.exc_info for r in caplog.records)
    # Paced while down: attempts at 0, 1, 3, 7, 11 (pauses 1, 2, 4, 4), then every tick.
    assert calls[:5] == [0.0, 1.0, 3.0, 7.0, 11.0]
    assert calls[-1] == 19.5


async def test_another_failure_is_a_bug_with_a_traceback_not_an_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = JobRunner()

    async def job() -> None:
        raise ValueError("сломалось")

    with caplog.at_level(logging.INFO):
        await runner.run(JobSpec("publish", job, 1))
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "scheduled job publish failed" in record.getMessage()
    assert record.exc_info is not None
    assert not runner.outage.down


def test_what_counts_as_the_database_being_unreachable() -> None:
    assert database_unreachable(unreachable()) is not None
    dropped = sa.exc.OperationalError(
        "SELECT 1", {}, Exception("server closed the connection unexpectedly")
    )
    assert database_unreachable(dropped) == "server closed the connection unexpectedly"
    wrapped = RuntimeError("обёртка")
    wrapped.__cause__ = dropped
    assert database_unreachable(wrapped) is not None
    duplicate = sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key value"))
    assert database_unreachable(duplicate) is None
    assert database_unreachable(ValueError("connection refused")) is None


async def test_drain_abandons_a_long_run_quietly(caplog: pytest.LogCaptureFixture) -> None:
    runner = JobRunner()
    started = asyncio.Event()
    cleaned: list[str] = []

    async def slow() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.append("leases given back")

    task = asyncio.create_task(runner.run(JobSpec("collect", slow, 1, exclusive=False)))
    await started.wait()
    with caplog.at_level(logging.INFO):
        assert await runner.drain(0.1) == 1
    await task  # ended, not cancelled: the scheduler sees a run that returned
    assert not task.cancelled()
    assert cleaned == ["leases given back"]
    assert "job collect: abandoned at shutdown" in caplog.text
    await runner.run(JobSpec("collect", slow, 1, exclusive=False))  # stopping: not started
    assert cleaned == ["leases given back"]
