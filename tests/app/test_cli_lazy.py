"""Command modules imported on demand: each command loads its own module, --help all of them."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import build_parser, chosen_command
from app.commands import COMMANDS, command_modules

ROOT = Path(__file__).resolve().parents[2]


def top_level_names(parser: argparse.ArgumentParser) -> list[str]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(action.choices)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_module_registers_its_command_and_only_it(name: str) -> None:
    (module,) = command_modules([name])
    parser = argparse.ArgumentParser()
    module.register(parser.add_subparsers())
    assert top_level_names(parser) == [name]
    assert top_level_names(build_parser([name])) == [name]


def test_every_command_is_listed_in_order_without_argv() -> None:
    assert top_level_names(build_parser()) == list(COMMANDS)
    assert top_level_names(build_parser([])) == list(COMMANDS)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["classify"], "classify"),
        (["--config", "classify", "version"], "version"),
        (["--config=x.yaml", "db", "upgrade"], "db"),
        (["sources", "--help"], "sources"),
        (["--help", "classify"], None),
        (["--version"], None),
        (["frobnicate"], None),
        ([], None),
        (["--config", "x.yaml"], None),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else str(value),
)
def test_the_command_named_by_the_arguments(argv: list[str], expected: str | None) -> None:
    assert chosen_command(argv) == expected


def test_a_command_imports_its_own_module_only() -> None:
    probe = (
        "import sys\n"
        "from app.cli import main\n"
        "code = main(['version'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('app.commands.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = done.stdout.strip().splitlines()[-1]
    assert "app.commands.version_cmd" in loaded
    for other in ("classify_cmd", "collect_cmd", "demo_cmd", "kpi_cmd", "sources_cmd"):
        assert other not in loaded


def test_a_command_without_its_action_lists_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import main

    with pytest.raises(SystemExit):
        main(["db"])
    capsys.readouterr()
    assert main(["--config", "config.yaml"]) == 2
    err = capsys.readouterr().err
    assert all(f"    {name}" in err for name in COMMANDS)
