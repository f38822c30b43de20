"""The service's event loop: uvloop when it is installed, asyncio's own loop otherwise.

uvloop (libuv under asyncio's interface) spends less CPU per socket event than the default
loop; the web processes' request path is CPU-bound on small machines (bench/README.md,
``bench_web_queue.py``), so ``run`` and the web workers use it. Everything here works on
either loop: set ``IM_EVENT_LOOP=asyncio`` to force the default one.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

__all__ = ["loop_factory", "loop_name", "run"]

T = TypeVar("T")


def loop_factory(env: Mapping[str, str] | None = None) -> Callable[[], asyncio.AbstractEventLoop]:
    """Return the loop factory: uvloop's, unless it is absent or ``IM_EVENT_LOOP=asyncio``."""
    environ = os.environ if env is None else env
    if environ.get("IM_EVENT_LOOP", "").strip().lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def loop_name(factory: Callable[[], asyncio.AbstractEventLoop]) -> str:
    """Return "uvloop" or "asyncio" for a factory :func:`loop_factory` returned."""
    return "uvloop" if factory.__module__.startswith("uvloop") else "asyncio"


def run(main: Coroutine[Any, Any, T], env: Mapping[str, str] | None = None) -> T:
    """Run ``main`` to completion on a new loop of :func:`loop_factory`, as ``asyncio.run``."""
    with asyncio.Runner(loop_factory=loop_factory(env)) as runner:
        return runner.run(main)
