"""Users (operators, executors' staff, supervisors, administrators): add and look up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.enums import UserRole
from storage.models import Executor, User
from storage.repositories.errors import NotFound
from storage.repositories.executors import SyncResult

__all__ = ["UserRecord", "UserRepository", "UserSpec"]


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


@dataclass(frozen=True, slots=True)
class UserSpec:
    """A user as the configuration bootstraps it."""

    login: str
    display_name: str
    role: UserRole
    executor_code: str | None


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

    def sync(self, specs: Sequence[UserSpec]) -> SyncResult:
        """Create the configured users that are missing; existing accounts are left alone.

        The configuration only bootstraps accounts: once a user exists, administrators manage
        it (role, name, deactivation) and a restart must not undo their changes.
        """
        executors = {row.code: row.id for row in self._session.scalars(sa.select(Executor))}
        rows = {row.login: row for row in self._session.scalars(sa.select(User))}
        added: list[str] = []
        for spec in specs:
            if spec.login in rows:
                continue
            executor_id = None
            if spec.executor_code is not None:
                if spec.executor_code not in executors:
                    raise NotFound(f"user {spec.login!r}: no executor {spec.executor_code!r}")
                executor_id = executors[spec.executor_code]
            row = User(
                login=spec.login,
                display_name=spec.display_name,
                role=spec.role,
                executor_id=executor_id,
            )
            self._session.add(row)
            rows[spec.login] = row
            added.append(spec.login)
        self._session.flush()
        return SyncResult(tuple(added), (), ())
