"""CPU-seconds of a process tree and of a database's PostgreSQL backends, read from /proc.

The web benchmarks report CPU per request beside latency: on a shared machine the wall clock
is inflated by other work, but the CPU the server itself spent on a request is not.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cpu_seconds", "descendants"]

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    return raw[raw.rindex(")") + 2 :].split()


def descendants(root: int) -> list[int]:
    """Return ``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """Return user + system CPU-seconds of each live process of ``pids``."""
    result = {}
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            # utime and stime are fields 14 and 15 of /proc/PID/stat (11 and 12 after the name).
            result[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    return result
