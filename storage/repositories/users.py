"""Users (operators, executors' staff, supervisors, administrators): add and look up."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.enums import UserRole
from storage.models import Executor, User
from storage.repositories.errors import NotFound

__all__ = ["UserRecord", "UserRepository"]


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user and, for an executor's employee, the executor's code."""

    id: int
    login: str
    display_name: str
    role: UserRole
    executor_id: int | None
    executor_code: str | None
    active: bool


class UserRepository:
    """Users within one session (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def _record(self, row: User) -> UserRecord:
        code = None
        if row.executor_id is not None:
            executor = self._session.get(Executor, row.executor_id)
            code = executor.code if executor else None
        return UserRecord(
            row.id, row.login, row.display_name, row.role, row.executor_id, code, row.active
        )

    def add(
        self, login: str, display_name: str, role: UserRole, *, executor_id: int | None = None
    ) -> UserRecord:
        """Add a user and return it (an executor's employee needs ``executor_id``)."""
        row = User(login=login, display_name=display_name, role=role, executor_id=executor_id)
        self._session.add(row)
        self._session.flush()
        return self._record(row)

    def get(self, user_id: int) -> UserRecord:
        """Return the user with this id; NotFound if there is none."""
        row = self._session.get(User, user_id)
        if row is None:
            raise NotFound(f"no user with id {user_id}")
        return self._record(row)

    def by_login(self, login: str) -> UserRecord:
        """Return the user with this login; NotFound if there is none."""
        row = self._session.scalars(sa.select(User).where(User.login == login)).one_or_none()
        if row is None:
            raise NotFound(f"no user with login {login!r}")
        return self._record(row)
