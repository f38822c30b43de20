"""The command line: help everywhere, one-line errors, config check, db and run."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from app import __version__
from app.cli import build_parser, default_config_path, main

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CONFIG = ROOT / "config.yaml"


@pytest.fixture
def config_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped config.yaml copied to a temp dir, so its relative SQLite file lands there."""
    target = tmp_path / "config.yaml"
    shutil.copy(SHIPPED_CONFIG, target)
    monkeypatch.delenv("IM_DATABASE_URL", raising=False)
    monkeypatch.delenv("IM_CONFIG", raising=False)
    return target


def command_paths(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.extend(command_paths(sub, (*prefix, name)))
    return paths


ALL_COMMANDS = command_paths(build_parser())


def test_every_expected_command_exists() -> None:
    expected = {
        ("config", "check"),
        ("db", "upgrade"),
        ("db", "current"),
        ("version",),
        ("run",),
        ("deadline",),
    }
    assert expected <= set(ALL_COMMANDS)


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "top")
def test_help_on_every_command(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: incident-management")
    assert " ".join(path) in out


@pytest.mark.parametrize(
    "argv",
    [["frobnicate"], ["db"], ["db", "sideways"], ["run", "--port", "eighty"], ["config"]],
    ids=lambda a: " ".join(a),
)
def test_usage_errors_are_one_line_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("incident-management")
    assert "error:" in err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"incident-management {__version__}"
    assert out[1].startswith("database schema head: ")


def test_default_config_path_honours_im_config() -> None:
    assert default_config_path({}) == Path("config.yaml")
    assert default_config_path({"IM_CONFIG": "/etc/im.yaml"}) == Path("/etc/im.yaml")


def test_config_check_accepts_shipped_config(
    config_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config_copy), "config", "check"]) == 0
    out = capsys.readouterr().out
    assert "OK" in out
    assert "Europe/Kirov" in out


def test_config_option_also_after_the_command(
    config_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "check", "--config", str(config_copy)]) == 0
    assert "OK" in capsys.readouterr().out


def test_config_from_im_config_env(
    config_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IM_CONFIG", str(config_copy))
    assert main(["config", "check"]) == 0
    assert str(config_copy) in capsys.readouterr().out


def test_config_check_missing_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["--config", str(missing), "config", "check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nope.yaml" in err
    assert "Traceback" not in err


def test_config_check_broken_file_is_one_line(
    config_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_copy.write_text(config_copy.read_text(encoding="utf-8") + "\nexecutrs: []\n", "utf-8")
    assert main(["--config", str(config_copy), "config", "check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "executrs" in err


def test_db_upgrade_and_current(
    db_url: str,
    config_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from storage.migrate import head

    monkeypatch.setenv("IM_DATABASE_URL", db_url)
    base = ["--config", str(config_copy), "db"]
    assert main([*base, "current"]) == 0
    assert capsys.readouterr().out.startswith("none (not initialised")
    assert main([*base, "upgrade"]) == 0
    assert f"upgraded empty -> {head()}" in capsys.readouterr().out
    assert main([*base, "current"]) == 0
    assert capsys.readouterr().out.strip() == f"{head()} (up to date)"
    assert main([*base, "upgrade"]) == 0
    assert f"already at {head()}" in capsys.readouterr().out


def test_db_upgrade_unreachable_database_is_one_line_without_password(
    config_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    monkeypatch.setenv(
        "IM_DATABASE_URL", f"postgresql+psycopg://im:s3cr3t-pw@127.0.0.1:{free_port}/im"
    )
    assert main(["--config", str(config_copy), "db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "s3cr3t-pw" not in err


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"IM_DATABASE_URL", "IM_CONFIG"}}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_run_serves_health_and_stops_on_sigint(config_copy: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "--config", str(config_copy), "run", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_child_env(),
        cwd=config_copy.parent,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "is running at http://127.0.0.1:" in line, line or process.stderr.read()
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "health", timeout=10) as response:
            assert response.status == 200
            assert b'"status": "ok"' in response.read()
        with urllib.request.urlopen(url, timeout=10) as response:
            assert "Кировская область" in response.read().decode("utf-8")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (config_copy.parent / "var" / "incident-management.db").exists()


def test_run_on_a_busy_port_is_one_line(
    config_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["--config", str(config_copy), "run", "--port", str(port)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err
