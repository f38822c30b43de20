"""The service's event loop: uvloop when installed, asyncio's own when asked or when absent."""

from __future__ import annotations

import asyncio
import sys

import pytest

from app import event_loop


async def _loop_module() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


def test_run_returns_the_coroutines_result_on_the_default_loop_when_asked() -> None:
    assert event_loop.run(_loop_module(), {"IM_EVENT_LOOP": "asyncio"}).startswith("asyncio")


def test_uvloop_is_used_when_installed() -> None:
    pytest.importorskip("uvloop")
    factory = event_loop.loop_factory({})
    assert event_loop.loop_name(factory) == "uvloop"
    assert event_loop.run(_loop_module(), {}).startswith("uvloop")


def test_the_default_loop_serves_when_uvloop_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` fail
    factory = event_loop.loop_factory({})
    assert factory is asyncio.new_event_loop
    assert event_loop.loop_name(factory) == "asyncio"
    assert event_loop.run(_loop_module(), {}).startswith("asyncio")
