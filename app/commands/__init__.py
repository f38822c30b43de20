"""Command modules; each exposes ``register(subparsers)`` and sets a ``handler`` default."""

from __future__ import annotations

from types import ModuleType

from app.commands import config_cmd, db_cmd, deadline, run_cmd, version_cmd

COMMAND_MODULES: tuple[ModuleType, ...] = (config_cmd, db_cmd, deadline, run_cmd, version_cmd)
