"""Logging for the long-running commands (run, demo): one line per event, quiet libraries."""

from __future__ import annotations

import logging
import sys
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

#: Libraries whose INFO lines repeat on every tick and drown what operators need to see.
_CHATTY = ("alembic", "apscheduler", "pymorphy3")
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def json_formatter() -> logging.Formatter:
    """Return the formatter of ``logging.format: json``: one JSON object per line.

    Keys: ``time`` (ISO 8601), ``level``, ``logger``, ``message``, and ``exc_info`` with the
    traceback when there is one; ``extra=`` fields of a call are added as they are.
    """
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        json_ensure_ascii=False,
    )


def configure_service_logging(
    level: int | str = logging.INFO, fmt: Literal["text", "json"] = "text"
) -> None:
    """Log ours at ``level`` (text lines or JSON objects); chatty libraries only from WARNING."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=fmt == "json")
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
