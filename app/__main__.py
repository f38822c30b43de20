"""Allow ``python -m app``."""

from __future__ import annotations

from app.cli import entry_point

entry_point()
