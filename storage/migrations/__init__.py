"""Alembic migrations of the storage schema (run through storage.migrate)."""
