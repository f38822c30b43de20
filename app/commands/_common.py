"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import CliError

if TYPE_CHECKING:
    from typing import TypeAlias

    from app.config import Config

    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def config_option_parent() -> argparse.ArgumentParser:
    """Return a parent parser so --config is also accepted after the command name."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="configuration file (default: $IM_CONFIG or ./config.yaml)",
    )
    return parent


def add_command(
    subparsers: Subparsers, name: str, *, help: str, **kwargs: Any
) -> argparse.ArgumentParser:
    """Add a subcommand that accepts --config and has a description equal to its help."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help, description=help, parents=[config_option_parent()], **kwargs
    )
    return parser


def load_config_or_fail(args: argparse.Namespace) -> Config:
    """Load the configuration named by --config, turning its errors into one-line CLI errors."""
    from app.config import ConfigError, load_config

    try:
        return load_config(Path(args.config), os.environ)
    except ConfigError as err:
        raise CliError(str(err)) from err
