"""HTTP load from ``wrk`` (C, one event loop a thread), for the web benchmarks.

A Python client on the same two cores as the server spends a good share of them on itself;
``wrk`` spends a few per cent. Each run gets a generated Lua script that sets the credentials
header on every request, rotates through the given paths, and prints one machine-readable line
at the end with the percentiles ``wrk`` keeps exactly (its histogram is in microseconds).

Each connection is one client: it sends a request, waits for the whole answer, then, with
``think_s`` > 0, waits a think time before its next request (wrk's ``delay()`` hook; wrk
starts a request's clock when it writes it, so the think time is not counted as latency).
Think times are drawn from an exponential distribution of mean ``think_s`` (people at their
screens do not click in step); ``think_s`` = 0 is the closed loop without think time, where
the clients send as fast as the server answers and the latency measures the queue.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WrkResult", "have_wrk", "run_wrk"]

_MARK = "IM-WRK-RESULT"

_SCRIPT = """
local paths = {%(paths)s}
local headers = {%(headers)s}
local think_ms = %(think_ms)s
local counter = 0

function setup(thread)
    thread:set("offset", counter)
    counter = counter + 1
end

function init(args)
    n = offset or 0
    math.randomseed(1009 * (n + 1))
end

%(delay)s

function request()
    n = n + 1
    return wrk.format("GET", paths[(n %% #paths) + 1], headers)
end

function done(summary, latency, requests)
    local bad = summary.errors.status + summary.errors.connect + summary.errors.read
        + summary.errors.write + summary.errors.timeout
    io.write(string.format("%(mark)s %%d %%d %%d %%d %%d %%d\\n",
        latency:percentile(50), latency:percentile(95), latency:percentile(99),
        summary.requests, summary.duration, bad))
end
"""


_DELAY = """
function delay()
    return -think_ms * math.log(1 - math.random())
end
"""


@dataclass(frozen=True, slots=True)
class WrkResult:
    """One run: latency percentiles in ms, requests, seconds, and failed or non-2xx/3xx ones."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    seconds: float
    errors: int

    @property
    def rate(self) -> float:
        """Requests a second."""
        return self.requests / self.seconds if self.seconds else 0.0


def have_wrk() -> bool:
    """Return whether ``wrk`` is on the PATH (Debian: ``apt-get install wrk``)."""
    return shutil.which("wrk") is not None


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wrk(
    base: str,
    paths: list[str],
    *,
    headers: dict[str, str],
    connections: int,
    seconds: float,
    threads: int = 2,
    think_s: float = 0.0,
) -> WrkResult:
    """Run ``wrk`` against ``base`` for ``seconds`` with ``connections`` clients.

    Each client waits for its answer, then thinks ``think_s`` seconds on average (exponential)
    before the next request; 0: no think time (the closed loop at full speed).
    """
    script = _SCRIPT % {
        "think_ms": f"{think_s * 1000:.3f}",
        "delay": _DELAY if think_s > 0 else "",
        "paths": ", ".join(_lua_string(p) for p in paths),
        "headers": ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()),
        "mark": _MARK,
    }
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="im-wrk-") as tmp:
        lua = Path(tmp) / "load.lua"
        lua.write_text(script, encoding="utf-8")
        done = subprocess.run(
            [
                wrk,
                f"-t{min(threads, connections)}",  # wrk wants a connection per thread
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "30s",
                "-s",
                str(lua),
                base + paths[0],
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    line = next((x for x in done.stdout.splitlines() if x.startswith(_MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {done.stdout[-500:]} {done.stderr[-500:]}")
    p50, p95, p99, requests, duration_us, errors = (int(x) for x in line.split()[1:])
    return WrkResult(p50 / 1000, p95 / 1000, p99 / 1000, requests, duration_us / 1e6, errors)
