"""The shipped migrations' head revision, read from the revision files without Alembic.

``incident-management version`` prints it; importing Alembic and SQLAlchemy for that would
cost more than the rest of the command. ``storage.migrate.head`` asks Alembic itself, and a
test checks that the two agree.
"""

from __future__ import annotations

import ast
from pathlib import Path

from storage.errors import StorageError

__all__ = ["VERSIONS_DIR", "shipped_head"]

VERSIONS_DIR = Path(__file__).resolve().parent / "migrations" / "versions"


def _literal(module: ast.Module, name: str) -> object:
    """Return the literal assigned to a module-level name (``x = ...`` or ``x: T = ...``)."""
    for node in module.body:
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [node.target.id]
        else:
            continue
        if name in targets and node.value is not None:
            return ast.literal_eval(node.value)
    raise StorageError(f"no {name} in a migration")


def shipped_head(directory: Path = VERSIONS_DIR) -> str:
    """Return the one revision no other revision names as its ``down_revision``."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        module = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        revision = _literal(module, "revision")
        down = _literal(module, "down_revision")
        if not isinstance(revision, str):
            raise StorageError(f"{path.name}: revision is not a string")
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(str(d) for d in down)
    heads = sorted(revisions - parents)
    if len(heads) != 1:
        raise StorageError(f"the migrations must have exactly one head, found {heads}")
    return heads[0]
