"""Errors the command line reports as one line with a usage/config exit code."""

from __future__ import annotations


class CliError(Exception):
    """A problem the user can fix: printed as one line on stderr, exit code ``exit_code``."""

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
