"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import CliError

if TYPE_CHECKING:
    from typing import TypeAlias

    from sqlalchemy.orm import Session, sessionmaker

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


@contextlib.contextmanager
def exclusive_job(config: Config, sessions: sessionmaker[Session], name: str) -> Iterator[None]:
    """Run a one-shot command's block under the daemon's own lease of the job ``name``.

    ``process`` and ``publish --once`` do what the daemon's jobs of those names do; two at once
    would keep two grouping indexes apart (duplicate incidents) or post one answer twice. When a
    live daemon holds the job, the command stops with a clear error instead.
    """
    from app.leases import JobBusy, JobLeases

    leases = JobLeases(sessions, lease_seconds=float(config.scheduler.lease_seconds))
    try:
        with leases.hold_blocking(name):
            yield
    except JobBusy as busy:
        raise CliError(
            f"the {name!r} job is running in another process ({busy.holder}); it ends its run "
            f"and gives the job back within {config.scheduler.lease_seconds} s of stopping: "
            "wait, or stop that daemon",
            exit_code=1,
        ) from None
