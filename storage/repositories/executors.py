"""Executors (ministries, municipal administrations): add, find by code or id."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.enums import ExecutorKind
from storage.models import Executor
from storage.repositories.errors import NotFound

__all__ = ["ExecutorRecord", "ExecutorRepository"]


@dataclass(frozen=True, slots=True)
class ExecutorRecord:
    """An executor as the rest of the system sees it."""

    id: int
    code: str
    name: str
    kind: ExecutorKind
    municipality_oktmo: str | None
    timezone: str
    active: bool


def _record(row: Executor) -> ExecutorRecord:
    return ExecutorRecord(
        row.id, row.code, row.name, row.kind, row.municipality_oktmo, row.timezone, row.active
    )


class ExecutorRepository:
    """Executors within one session (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def add(
        self,
        code: str,
        name: str,
        kind: ExecutorKind,
        *,
        municipality_oktmo: str | None = None,
        timezone: str = "Europe/Moscow",
    ) -> ExecutorRecord:
        """Add an executor and return it."""
        row = Executor(
            code=code,
            name=name,
            kind=kind,
            municipality_oktmo=municipality_oktmo,
            timezone=timezone,
        )
        self._session.add(row)
        self._session.flush()
        return _record(row)

    def get(self, executor_id: int) -> ExecutorRecord:
        """Return the executor with this id; NotFound if there is none."""
        row = self._session.get(Executor, executor_id)
        if row is None:
            raise NotFound(f"no executor with id {executor_id}")
        return _record(row)

    def by_code(self, code: str) -> ExecutorRecord:
        """Return the executor with this code; NotFound if there is none."""
        row = self._session.scalars(sa.select(Executor).where(Executor.code == code)).one_or_none()
        if row is None:
            raise NotFound(f"no executor with code {code!r}")
        return _record(row)

    def all(self) -> list[ExecutorRecord]:
        """Return every executor, by code."""
        return [
            _record(r) for r in self._session.scalars(sa.select(Executor).order_by(Executor.code))
        ]
