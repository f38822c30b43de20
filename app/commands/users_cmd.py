"""``users``: add users, set passwords, disable, list, and issue or revoke API tokens."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from app.commands._common import add_command, load_config_or_fail
from app.errors import CliError

if TYPE_CHECKING:
    from app.accounts import AccountService
    from app.commands._common import Subparsers

ROLES = ("operator", "supervisor", "executor", "admin")


def register(subparsers: Subparsers) -> None:
    """Add the ``users`` command group."""
    parser = add_command(subparsers, "users", help="manage users, passwords and API tokens")
    actions = parser.add_subparsers(dest="users_action", metavar="ACTION", required=True)

    add = add_command(actions, "add", help="add a user (the password is read from stdin)")
    add.add_argument("login")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--executor", metavar="CODE", help="the executor of an executor's employee")
    add.add_argument("--name", help="the name shown on screens (default: the login)")
    add.add_argument("--password-stdin", action="store_true", required=True, help=_STDIN_HELP)
    add.set_defaults(handler=add_user)

    passwd = add_command(actions, "passwd", help="set a user's password (read from stdin)")
    passwd.add_argument("login")
    passwd.add_argument("--password-stdin", action="store_true", required=True, help=_STDIN_HELP)
    passwd.set_defaults(handler=set_password)

    disable = add_command(actions, "disable", help="disable a user: sessions and tokens end")
    disable.add_argument("login")
    disable.set_defaults(handler=disable_user)

    listing = add_command(actions, "list", help="list the users")
    listing.set_defaults(handler=list_users)

    token = add_command(actions, "token", help="print a new API token for a user, or --revoke")
    token.add_argument("login")
    token.add_argument("--revoke", action="store_true", help="revoke every token of the user")
    token.set_defaults(handler=user_token)


_STDIN_HELP = "read the password from standard input (the first line), never from arguments"


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise CliError("no password on standard input")
    return password


@contextmanager
def _accounts(args: argparse.Namespace) -> Iterator[AccountService]:
    """Open the configured database (migrated, executors and users bootstrapped)."""
    from app.accounts import AccountService
    from app.bootstrap import bootstrap
    from app.runtime import utc_clock
    from storage.db import create_engine_for, make_sessionmaker
    from storage.errors import StorageError
    from storage.migrate import current_revision, head
    from storage.repositories.errors import NotFound

    config = load_config_or_fail(args)
    try:
        engine = create_engine_for(config.database.url)
    except StorageError as err:
        raise CliError(str(err), exit_code=1) from err
    try:
        try:
            revision = current_revision(engine)
        except StorageError as err:
            raise CliError(str(err), exit_code=1) from err
        if revision != head():
            raise CliError(
                f"the database schema is at {revision or 'none'}, expected {head()}: "
                "run 'incident-management db upgrade' first",
                exit_code=1,
            )
        sessions = make_sessionmaker(engine)
        try:
            bootstrap(config, sessions)
        except NotFound as err:
            raise CliError(str(err)) from err
        yield AccountService(sessionmaker=sessions, clock=utc_clock)
    finally:
        engine.dispose()


def _fail(err: Exception) -> CliError:
    return CliError(str(err), exit_code=1)


def add_user(args: argparse.Namespace) -> int:
    """Add a user with the password read from standard input."""
    from app.accounts import AccountError

    password = _read_password()
    with _accounts(args) as accounts:
        try:
            line = accounts.add_user(
                args.login,
                role=args.role,
                password=password,
                name=args.name,
                executor=args.executor,
            )
        except AccountError as err:
            raise _fail(err) from err
    print(f"user {line.login} added ({line.role}{', ' + line.executor if line.executor else ''})")
    return 0


def set_password(args: argparse.Namespace) -> int:
    """Set a user's password from standard input; the user's sessions end."""
    from app.accounts import AccountError

    password = _read_password()
    with _accounts(args) as accounts:
        try:
            accounts.set_password(args.login, password)
        except AccountError as err:
            raise _fail(err) from err
    print(f"password of {args.login} changed; its sessions have ended")
    return 0


def disable_user(args: argparse.Namespace) -> int:
    """Disable a user."""
    from app.accounts import AccountError

    with _accounts(args) as accounts:
        try:
            accounts.disable(args.login)
        except AccountError as err:
            raise _fail(err) from err
    print(f"user {args.login} disabled; its sessions and tokens no longer work")
    return 0


def list_users(args: argparse.Namespace) -> int:
    """Print the users, one a line."""
    with _accounts(args) as accounts:
        lines = accounts.users()
    for line in lines:
        state = "active" if line.active else "disabled"
        password = "password set" if line.has_password else "no password"
        executor = f" executor={line.executor}" if line.executor else ""
        print(f"{line.login}\t{line.role}{executor}\t{state}\t{password}\t{line.name}")
    return 0


def user_token(args: argparse.Namespace) -> int:
    """Print a new API token for the user (shown once), or revoke the user's tokens."""
    from app.accounts import AccountError

    with _accounts(args) as accounts:
        try:
            if args.revoke:
                count = accounts.revoke_tokens(args.login)
                print(f"{count} token(s) of {args.login} revoked")
                return 0
            token = accounts.new_token(args.login)
        except AccountError as err:
            raise _fail(err) from err
    print(token)
    return 0
