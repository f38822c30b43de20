"""Persistence: SQLAlchemy models, engines and sessions, and the Alembic migrations."""

from __future__ import annotations
