"""``incident-management emulator`` and ``python -m emulator``: the standalone emulator."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from app.commands import emulator_cmd
from emulator.__main__ import build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_command_registers_and_builds_the_child_command_line() -> None:
    parser = argparse.ArgumentParser()
    emulator_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["emulator", "--port", "9000", "--seed", "4", "--groups", "50"])
    assert args.handler is emulator_cmd.run
    line = emulator_cmd.command_line(args)
    assert line[:3] == [sys.executable, "-m", "emulator"]
    child = build_parser().parse_args(line[3:])
    assert (child.port, child.host, child.seed, child.groups) == (9000, "127.0.0.1", 4, 50)


def test_run_delegates_to_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_call(argv: list[str]) -> int:
        seen.append(argv)
        return 0

    monkeypatch.setattr(subprocess, "call", fake_call)
    args = argparse.Namespace(port=1, host="127.0.0.1", seed=1, groups=2, activity_speed=0.0)
    assert emulator_cmd.run(args) == 0
    assert seen == [emulator_cmd.command_line(args)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_standalone_process_prints_url_and_tokens_and_serves() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", str(port), "--groups", "8",
         "--activity-speed", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        banner: list[str] = []
        while not banner or "vk-demo-community" not in banner[-1]:
            line = proc.stdout.readline()
            assert line, f"the emulator exited: {proc.stderr.read() if proc.stderr else ''}"
            banner.append(line)
        assert banner[0].strip() == f"VK API emulator: http://127.0.0.1:{port}/method/"
        text = "".join(banner)
        for token in ("vk-demo-service-1", "vk-demo-user", "vk-demo-community"):
            assert token in text
        data = urllib.parse.urlencode(
            {"screen_name": "podslushano_kirov", "access_token": "vk-demo-service-1",
             "v": "5.199"}
        ).encode()  # fmt: skip
        url = f"http://127.0.0.1:{port}/method/utils.resolveScreenName"
        for _ in range(50):
            try:
                with urllib.request.urlopen(url, data=data, timeout=5) as resp:
                    body = json.loads(resp.read())
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the emulator did not answer")
        assert body["response"]["type"] == "group"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_random_faults_from_the_command_line() -> None:
    from emulator.__main__ import fault_rates, main

    args = build_parser().parse_args(
        ["--error-rate", "0.15", "--http-error-rate", "0.03", "--truncate-rate", "0.03"]
    )
    rates = fault_rates(args)
    assert (rates.error, rates.http, rates.truncate, rates.error_code) == (0.15, 0.03, 0.03, 10)
    assert not fault_rates(build_parser().parse_args([])).active
    assert main(["--error-rate", "1.5"]) == 2  # refused before anything is served
