"""Lease owners: who this process is, whether another owner is still alive, job leases.

An owner id is ``host:pid:random``. A process on the same host can tell that an owner's pid is
gone (or is itself under a new id: a container restarted with the same pid), and give that
owner's leases back at once instead of waiting for them to run out. An owner on another host
cannot be checked; its leases run out ``lease_seconds`` after its last heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from storage.repositories.jobs import JobLeaseRepository

__all__ = ["JobBusy", "JobLeases", "owner_is_dead", "process_owner_id"]

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def process_owner_id() -> str:
    """Return a lease owner id unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    except OSError:  # pragma: no cover - e.g. an invalid pid on some platforms
        return False
    return True


def owner_is_dead(
    owner: str,
    me: str,
    *,
    host: str | None = None,
    pid_alive: Callable[[int], bool] = _pid_alive,
) -> bool:
    """Return True when ``owner`` is known to be gone (False when alive or unknown).

    Only an owner on this host can be checked: its pid no longer exists, or it is this very
    pid under another owner id (an earlier life of this process's pid, e.g. pid 1 of a
    restarted container). ``me`` is this process's own owner id.
    """
    if owner == me:
        return False
    parts = owner.rsplit(":", 2)
    if len(parts) != 3:
        return False
    owner_host, pid_text, _ = parts
    if owner_host != (host if host is not None else socket.gethostname()):
        return False
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    return not pid_alive(pid)


class JobBusy(Exception):
    """A job another live process holds: ``holder`` is its owner id (``host:pid:random``)."""

    def __init__(self, name: str, holder: str | None) -> None:
        """Name the job and who holds it."""
        super().__init__(f"{name} is running in another process ({holder or 'unknown'})")
        self.name = name
        self.holder = holder


@dataclass
class JobLeases:
    """Run each scheduled job in at most one process at a time, under a renewed row lease."""

    sessions: sessionmaker[Session]
    owner: str = field(default_factory=process_owner_id)
    clock: Clock = field(default=lambda: dt.datetime.now(dt.UTC))
    lease_seconds: float = 60.0
    is_dead: Callable[[str, str], bool] = owner_is_dead

    def _acquire(self, name: str) -> bool:
        with self.sessions.begin() as s:
            return JobLeaseRepository(s).acquire(
                name,
                self.owner,
                self.clock(),
                lease_seconds=self.lease_seconds,
                is_dead=lambda other: self.is_dead(other, self.owner),
            )

    def _renew(self) -> None:
        with self.sessions.begin() as s:
            JobLeaseRepository(s).renew(self.owner, self.clock(), lease_seconds=self.lease_seconds)

    def _release(self, name: str) -> None:
        with self.sessions.begin() as s:
            JobLeaseRepository(s).release(name, self.owner)

    def release_all(self) -> int:
        """Give back every job lease this process holds (at shutdown)."""
        with self.sessions.begin() as s:
            return JobLeaseRepository(s).release_owned([self.owner])

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await asyncio.to_thread(self._renew)
            except Exception as err:  # the job itself reports an outage; keep beating
                log.debug("job lease heartbeat failed: %s", err)

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[bool]:
        """Lease the job ``name`` for the block; yield False when another process runs it.

        The lease is renewed every third of ``lease_seconds`` while the block runs and given
        back when it ends (also when it fails or is cancelled).
        """
        if not await asyncio.to_thread(self._acquire, name):
            yield False
            return
        beat = asyncio.create_task(self._heartbeat())
        try:
            yield True
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            await asyncio.shield(asyncio.to_thread(self._release, name))

    def _holder(self, name: str) -> str | None:
        with self.sessions.begin() as s:
            return JobLeaseRepository(s).holder(name, self.clock())

    @contextlib.contextmanager
    def hold_blocking(self, name: str) -> Iterator[None]:
        """Lease the job ``name`` for a synchronous block (the one-shot commands).

        Raises :class:`JobBusy` when another live process (a daemon) runs the job, so that a
        ``process`` typed by hand never works beside the daemon's own. A thread renews the
        lease while the block runs; it is given back when the block ends.
        """
        if not self._acquire(name):
            raise JobBusy(name, self._holder(name))
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.lease_seconds / 3):
                try:
                    self._renew()
                except Exception as err:  # the block reports its own database errors
                    log.debug("job lease heartbeat failed: %s", err)

        thread = threading.Thread(target=beat, name=f"lease-{name}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self._release(name)
