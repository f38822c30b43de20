"""Users (operators, executors' staff, supervisors, administrators), their passwords and tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.enums import UserRole
from storage.models import ApiToken, Executor, User
from storage.repositories.errors import NotFound
from storage.repositories.executors import SyncResult

__all__ = [
    "Credentials",
    "UserRecord",
    "UserRepository",
    "UserSpec",
    "user_by_id",
    "user_by_token_hash",
]

# Every web request looks its user up (by session or token): one Core statement, kept, that
# joins the executor, instead of ORM objects and a second lookup (bench/profile_web_request.py).
_U = User.__table__.c
_X = Executor.__table__.c
_T = ApiToken.__table__.c
_RECORD = sa.select(
    _U.id,
    _U.login,
    _U.display_name,
    _U.role,
    _U.executor_id,
    _X.code,
    _U.active,
    _U.session_epoch,
    _X.name,
).select_from(User.__table__.outerjoin(Executor.__table__, _X.id == _U.executor_id))
_BY_ID = _RECORD.where(_U.id == sa.bindparam("user_id", type_=_U.id.type))
_BY_TOKEN = _RECORD.join(ApiToken.__table__, _T.user_id == _U.id).where(
    _T.token_hash == sa.bindparam("token_hash", type_=_T.token_hash.type),
    _T.revoked_at.is_(None),
)


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
    session_epoch: int = 1
    executor_name: str | None = None


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user with the stored password hash (only for checking a password at login)."""

    user: UserRecord
    password_hash: str | None


@dataclass(frozen=True, slots=True)
class UserSpec:
    """A user as the configuration bootstraps it."""

    login: str
    display_name: str
    role: UserRole
    executor_code: str | None
    password_hash: str | None = None


def user_by_id(db: Session | sa.Connection, user_id: int) -> UserRecord | None:
    """Return the user with this id, or None (a Connection spares a web request a Session)."""
    row = db.execute(_BY_ID, {"user_id": user_id}).one_or_none()
    return None if row is None else UserRecord(*row)


def user_by_token_hash(db: Session | sa.Connection, token_hash: str) -> UserRecord | None:
    """Return the user a live token belongs to, or None."""
    row = db.execute(_BY_TOKEN, {"token_hash": token_hash}).one_or_none()
    return None if row is None else UserRecord(*row)


class UserRepository:
    """Users within one session (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``."""
        self._session = session

    def _record(self, row: User) -> UserRecord:
        code = name = None
        if row.executor_id is not None:
            executor = self._session.get(Executor, row.executor_id)
            code = executor.code if executor else None
            name = executor.name if executor else None
        return UserRecord(
            row.id,
            row.login,
            row.display_name,
            row.role,
            row.executor_id,
            code,
            row.active,
            row.session_epoch,
            name,
        )

    def _row(self, login: str) -> User:
        row = self._session.scalars(sa.select(User).where(User.login == login)).one_or_none()
        if row is None:
            raise NotFound(f"no user with login {login!r}")
        return row

    def all(self) -> list[UserRecord]:
        """Return every user, by login."""
        return [
            self._record(r) for r in self._session.scalars(sa.select(User).order_by(User.login))
        ]

    def credentials(self, login: str) -> Credentials:
        """Return the user with this login and its password hash; NotFound if there is none."""
        row = self._row(login)
        return Credentials(self._record(row), row.password_hash)

    def set_password_hash(self, login: str, password_hash: str) -> UserRecord:
        """Store a new password hash; sessions issued before end (the epoch moves on)."""
        row = self._row(login)
        row.password_hash = password_hash
        row.session_epoch += 1
        self._session.flush()
        return self._record(row)

    def rehash(self, user_id: int, password_hash: str) -> None:
        """Replace the hash of an unchanged password (new hashing parameters); sessions stay."""
        row = self._session.get(User, user_id)
        if row is not None:
            row.password_hash = password_hash
            self._session.flush()

    def disable(self, login: str) -> UserRecord:
        """Disable the user: its sessions and tokens stop working at once."""
        row = self._row(login)
        row.active = False
        row.session_epoch += 1
        self._session.flush()
        return self._record(row)

    def add_token(self, user_id: int, token_hash: str, *, now: dt.datetime) -> None:
        """Store the hash of a new API token of the user."""
        self._session.add(ApiToken(user_id=user_id, token_hash=token_hash, created_at=now))
        self._session.flush()

    def revoke_tokens(self, user_id: int, *, now: dt.datetime) -> int:
        """Revoke every live token of the user; return how many."""
        result = self._session.execute(
            sa.update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def by_token_hash(self, token_hash: str) -> UserRecord | None:
        """Return the user a live token belongs to, or None."""
        return user_by_token_hash(self._session, token_hash)

    def add(
        self,
        login: str,
        display_name: str,
        role: UserRole,
        *,
        executor_id: int | None = None,
        password_hash: str | None = None,
    ) -> UserRecord:
        """Add a user and return it (an executor's employee needs ``executor_id``)."""
        row = User(
            login=login,
            display_name=display_name,
            role=role,
            executor_id=executor_id,
            password_hash=password_hash,
        )
        self._session.add(row)
        self._session.flush()
        return self._record(row)

    def get(self, user_id: int) -> UserRecord:
        """Return the user with this id; NotFound if there is none."""
        user = user_by_id(self._session, user_id)
        if user is None:
            raise NotFound(f"no user with id {user_id}")
        return user

    def by_login(self, login: str) -> UserRecord:
        """Return the user with this login; NotFound if there is none."""
        row = self._session.scalars(sa.select(User).where(User.login == login)).one_or_none()
        if row is None:
            raise NotFound(f"no user with login {login!r}")
        return self._record(row)

    def sync(self, specs: Sequence[UserSpec]) -> SyncResult:
        """Create the configured users that are missing; existing accounts are left alone.

        The configuration only bootstraps accounts: once a user exists, administrators manage
        it (role, name, password, deactivation) and a restart must not undo their changes. A
        configured password is only given to an existing account that has none yet.
        """
        executors = {row.code: row.id for row in self._session.scalars(sa.select(Executor))}
        rows = {row.login: row for row in self._session.scalars(sa.select(User))}
        added: list[str] = []
        for spec in specs:
            if spec.login in rows:
                existing = rows[spec.login]
                if existing.password_hash is None and spec.password_hash is not None:
                    existing.password_hash = spec.password_hash
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
                password_hash=spec.password_hash,
            )
            self._session.add(row)
            rows[spec.login] = row
            added.append(spec.login)
        self._session.flush()
        return SyncResult(tuple(added), (), ())
