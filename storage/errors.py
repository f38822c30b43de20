"""Exceptions raised by the storage layer."""

from __future__ import annotations


class StorageError(Exception):
    """The database cannot be reached, opened or migrated.

    The message is one line and never contains a password.
    """
