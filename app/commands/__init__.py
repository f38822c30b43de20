"""Command modules; each exposes ``register(subparsers)`` and sets a ``handler`` default.

A module is imported only when its command runs (or when every command is listed, as
``--help`` does): a command does not pay for the imports of the others.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Each command's name and the module that registers it, in the order ``--help`` lists them.
COMMANDS: dict[str, str] = {
    "config": "app.commands.config_cmd",
    "db": "app.commands.db_cmd",
    "deadline": "app.commands.deadline",
    "run": "app.commands.run_cmd",
    "version": "app.commands.version_cmd",
    "collect": "app.commands.collect_cmd",
    "export": "app.commands.export_cmd",
    "sources": "app.commands.sources_cmd",
    "emulator": "app.commands.emulator_cmd",
    "classify": "app.commands.classify_cmd",
    "evaluate": "app.commands.evaluate_cmd",
    "train": "app.commands.train_cmd",
    "demo": "app.commands.demo_cmd",
    "process": "app.commands.process_cmd",
    "publish": "app.commands.publish_cmd",
    "users": "app.commands.users_cmd",
    "kpi": "app.commands.kpi_cmd",
}


def command_modules(names: list[str] | None = None) -> tuple[ModuleType, ...]:
    """Import and return the modules of the commands ``names`` (every command when None)."""
    chosen = list(COMMANDS) if names is None else names
    return tuple(importlib.import_module(COMMANDS[name]) for name in chosen)
