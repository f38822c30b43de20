"""``db upgrade`` and ``db current``: manage the database schema."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from app.commands._common import add_command, load_config_or_fail
from app.errors import CliError

if TYPE_CHECKING:
    from app.commands._common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add the ``db`` command group."""
    parser = add_command(subparsers, "db", help="manage the database schema")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    upgrade = add_command(actions, "upgrade", help="apply migrations up to a revision")
    upgrade.add_argument(
        "revision", nargs="?", default="head", help="target revision (default: head)"
    )
    upgrade.set_defaults(handler=upgrade_db)
    current = add_command(actions, "current", help="print the database's schema revision")
    current.set_defaults(handler=current_db)


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url  # here, not at import: `--help` stays light

    return make_url(url).render_as_string(hide_password=True)


def upgrade_db(args: argparse.Namespace) -> int:
    """Upgrade the configured database to the requested revision."""
    from storage.errors import StorageError
    from storage.migrate import current, upgrade

    config = load_config_or_fail(args)
    url = config.database.url
    try:
        before = current(url)
        upgrade(url, args.revision)
        after = current(url)
    except StorageError as err:
        raise CliError(str(err), exit_code=1) from err
    if before == after:
        print(f"{_shown(url)}: already at {after}", file=sys.stdout)
    else:
        print(f"{_shown(url)}: upgraded {before or 'empty'} -> {after}", file=sys.stdout)
    return 0


def current_db(args: argparse.Namespace) -> int:
    """Print the configured database's revision and whether it is up to date."""
    from storage.errors import StorageError
    from storage.migrate import current, head

    config = load_config_or_fail(args)
    url = config.database.url
    try:
        revision = current(url)
    except StorageError as err:
        raise CliError(str(err), exit_code=1) from err
    latest = head()
    if revision is None:
        state = f"not initialised (run 'incident-management db upgrade' to reach {latest})"
    elif revision == latest:
        state = "up to date"
    else:
        state = f"behind head {latest}"
    print(f"{revision or 'none'} ({state})", file=sys.stdout)
    return 0
