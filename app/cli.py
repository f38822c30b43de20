"""The ``incident-management`` command line: parses arguments and dispatches to commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from app import __version__
from app.commands import COMMANDS, command_modules
from app.errors import CliError

DEFAULT_CONFIG = "config.yaml"
CONFIG_ENV = "IM_CONFIG"
PROG = "incident-management"

Handler = Callable[[argparse.Namespace], int]


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print the problem and where to look for help, then exit with code 2."""
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def default_config_path(env: dict[str, str] | None = None) -> Path:
    """Return the config path used when --config is not given: $IM_CONFIG or ./config.yaml."""
    environ = os.environ if env is None else env
    return Path(environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def chosen_command(argv: Sequence[str]) -> str | None:
    """Return the command that ``argv`` names, or None (none given, an unknown one, --help)."""
    args = iter(argv)
    for arg in args:
        if arg == "--config":
            next(args, None)  # its value
        elif arg.startswith("-"):
            if arg in ("-h", "--help", "--version"):
                return None
        else:
            return arg if arg in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Build the parser with the subparser of the command ``argv`` names, or of every command.

    Only the command being run is imported; help, errors, a missing or unknown command and
    ``argv=None`` see them all.
    """
    parser = OneLineParser(
        prog=PROG,
        description=(
            "Incident Management: finds citizens' complaints in public VK, OK and Telegram "
            "groups, routes them to the responsible executor and holds it to a deadline."
        ),
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"configuration file (default: ${CONFIG_ENV} or ./{DEFAULT_CONFIG})",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=OneLineParser
    )
    command = None if argv is None else chosen_command(argv)
    for module in command_modules(None if command is None else [command]):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.config is None:
        args.config = default_config_path()
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        build_parser().print_help(sys.stderr)  # every command listed
        return 2
    try:
        return handler(args)
    except CliError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130


def entry_point() -> NoReturn:
    """Console-script entry: exit with main()'s code."""
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
