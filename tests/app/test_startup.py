"""Start-up stays light: the command line loads heavy libraries only for commands that use them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.commands import deadline
from router.working_time import DEFAULT_SCHEDULE_SPEC
from storage.errors import StorageError
from storage.migrate import head
from storage.revisions import shipped_head

HEAVY = ("sklearn", "scipy", "sqlalchemy", "alembic", "pymorphy3", "aiohttp", "apscheduler")

_PROBE = """
import json, sys
from app.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _loaded(*argv: str) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], {m.split(".")[0] for m in report["modules"]}


@pytest.mark.parametrize("argv", [("--help",), ("version",), ("deadline", "--help")])
def test_help_and_version_load_no_heavy_library(argv: tuple[str, ...]) -> None:
    code, loaded = _loaded(*argv)
    assert code == 0
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_version_command_reads_the_same_head_as_alembic() -> None:
    assert shipped_head() == head()


def test_two_heads_are_an_error(tmp_path: Path) -> None:
    for name, revision, down in (("a", "0001", None), ("b", "0002", "0001"), ("c", "0003", "0001")):
        (tmp_path / f"{revision}_{name}.py").write_text(
            f'revision: str = "{revision}"\ndown_revision: str | None = {down!r}\n',
            encoding="utf-8",
        )
    with pytest.raises(StorageError, match="exactly one head"):
        shipped_head(tmp_path)
    (tmp_path / "0004_merge.py").write_text(
        'revision = "0004"\ndown_revision = ("0002", "0003")\n', encoding="utf-8"
    )
    assert shipped_head(tmp_path) == "0004"


def test_the_deadline_commands_default_schedule_is_the_routers() -> None:
    assert deadline.DEFAULT_SCHEDULE_SPEC == DEFAULT_SCHEDULE_SPEC
