#!/usr/bin/env python3
"""Developer entry point that needs only Python 3.11+: creates .venv, then runs or tests.

python3 dev.py run [ARGS...]    install into .venv and run the demo (SQLite, the demo region)
python3 dev.py test [ARGS...]   install with the test extra; ruff, mypy, then pytest ARGS
                                (the whole suite on every core; named tests in one process)
python3 dev.py cli [ARGS...]    any incident-management command inside .venv
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".incident-management-installed"
CHECKED_PACKAGES = ["collector", "classifier", "router", "storage", "web", "app", "emulator"]
#: Arguments by which a caller has already chosen how (or whether) pytest-xdist spreads the
#: tests; --pdb and --trace need the tests in this process.
XDIST_CHOSEN = ("-n", "--numprocesses", "--dist", "no:xdist", "-pno:xdist", "--pdb", "--trace")
#: pytest options whose value is the next argument (so ``-k router`` names no directory).
TAKES_VALUE = ("-k", "-m", "-p", "-o", "-c", "--deselect", "--ignore", "--durations", "--maxfail")


def _say(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


def _run(*cmd: str | Path) -> None:
    result = subprocess.run([str(part) for part in cmd], cwd=ROOT, check=False)  # noqa: S603
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_venv(extra: str) -> None:
    """Create .venv and install the project with ``extra`` unless already up to date."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extra.encode()).hexdigest()
    if STAMP.exists() and PYTHON.exists():
        installed = STAMP.read_text().split()
        if wanted in installed:
            return
    if not PYTHON.exists():
        _say(f"creating virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    _say("installing incident-management and its dependencies (first run takes a few minutes)")
    _run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extra}]" if extra else "."
    _run(PYTHON, "-m", "pip", "install", "--quiet", "-e", target)
    previous = STAMP.read_text().split() if STAMP.exists() else []
    STAMP.write_text("\n".join([*previous, wanted]) + "\n")


def pytest_arguments(args: list[str]) -> list[str]:
    """Return pytest's arguments: ``args``, plus ``-n auto`` when they run the whole suite.

    The whole suite is spread over every core by pytest-xdist, one test file per worker at a
    time (``--dist loadfile``): a module's shared fixtures (a trained model, a migrated database,
    the wheel that test_packaging builds inside the source tree) are made once, never by two
    workers at once. Named test files or node ids run in this one process, as typed.
    """
    names_tests = any(
        not arg.startswith("-")
        and (index == 0 or args[index - 1] not in TAKES_VALUE)
        and (ROOT / arg.split("::")[0]).exists()
        for index, arg in enumerate(args)
    )
    chosen = any(arg.split("=")[0] in XDIST_CHOSEN or arg.startswith("-n") for arg in args)
    if names_tests or chosen:
        return args
    return ["-n", "auto", "--dist", "loadfile", *args]


def command_test(args: list[str]) -> None:
    """Lint, format-check and type-check our packages, then run pytest."""
    ensure_venv("test")
    _say("ruff check")
    _run(PYTHON, "-m", "ruff", "check", ".")
    _say("ruff format --check")
    _run(PYTHON, "-m", "ruff", "format", "--check", ".")
    _say("mypy (strict) on " + ", ".join(CHECKED_PACKAGES))
    _run(PYTHON, "-m", "mypy")
    _say("pytest")
    _run(PYTHON, "-m", "pytest", *pytest_arguments(args))


def command_cli(args: list[str]) -> None:
    """Run any incident-management command inside the virtual environment."""
    ensure_venv("")
    argv = [str(PYTHON), "-m", "app", *args]
    if os.name == "posix":
        # Become the service process, so Ctrl+C and SIGTERM reach it directly.
        os.chdir(ROOT)
        os.execv(argv[0], argv)  # noqa: S606
    try:
        _run(*argv)
    except KeyboardInterrupt:
        sys.exit(130)


def main() -> None:
    """Dispatch ``run``, ``test`` or ``cli``."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py is run by whatever python3 is
        _say(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
        sys.exit(2)
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test", "cli"}:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "test":
        command_test(rest)
    elif command == "run":
        command_cli(["demo", *rest])
    else:
        command_cli(rest)


if __name__ == "__main__":
    main()
