"""``version``: print the package version and the database schema head."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from app import __version__
from app.commands._common import add_command

if TYPE_CHECKING:
    from app.commands._common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add the ``version`` command."""
    parser = add_command(subparsers, "version", help="print the version and the schema revision")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print ``incident-management X.Y.Z`` and the migration head this release expects."""
    from storage.revisions import shipped_head  # the files read, not Alembic imported

    print(f"incident-management {__version__}", file=sys.stdout)
    print(f"database schema head: {shipped_head()}", file=sys.stdout)
    return 0
