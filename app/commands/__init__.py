"""Command modules; each exposes ``register(subparsers)`` and sets a ``handler`` default."""

from __future__ import annotations

from types import ModuleType

from app.commands import (
    classify_cmd,
    collect_cmd,
    config_cmd,
    db_cmd,
    deadline,
    demo_cmd,
    emulator_cmd,
    evaluate_cmd,
    export_cmd,
    kpi_cmd,
    process_cmd,
    publish_cmd,
    run_cmd,
    sources_cmd,
    train_cmd,
    users_cmd,
    version_cmd,
)

COMMAND_MODULES: tuple[ModuleType, ...] = (config_cmd, db_cmd, deadline, run_cmd, version_cmd)
COMMAND_MODULES += (collect_cmd, export_cmd, sources_cmd)
COMMAND_MODULES += (emulator_cmd,)
COMMAND_MODULES += (classify_cmd, evaluate_cmd, train_cmd)
COMMAND_MODULES += (demo_cmd, process_cmd)
COMMAND_MODULES += (publish_cmd,)
COMMAND_MODULES += (users_cmd,)
COMMAND_MODULES += (kpi_cmd,)
