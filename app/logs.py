"""Logging for the long-running commands (run, demo): one line per event, quiet libraries."""

from __future__ import annotations

import logging

#: Libraries whose INFO lines repeat on every tick and drown what operators need to see.
_CHATTY = ("alembic", "apscheduler", "pymorphy3")


def configure_service_logging(level: int = logging.INFO) -> None:
    """Log ours at ``level`` with timestamps; chatty libraries only from WARNING."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
