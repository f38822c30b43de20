"""Accounts: passwords (Argon2id), API tokens (stored as SHA-256), and who is signed in.

``AccountService`` serves both the command line (``users add/passwd/disable/list/token``) and
the web application (the ``web.contracts.Accounts`` protocol). Every request looks the user up
again, so a disabled user's sessions and tokens stop working at once; a password change moves
the user's session epoch, which ends the sessions issued before it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.enums import UserRole
from storage.repositories.errors import NotFound as RowNotFound
from storage.repositories.executors import ExecutorRepository
from storage.repositories.users import (
    UserRecord,
    UserRepository,
    user_by_id,
    user_by_token_hash,
)
from web.contracts import Viewer
from web.errors import BadRequest, Unauthorized

__all__ = ["MIN_PASSWORD_LENGTH", "AccountError", "AccountService", "UserLine", "hash_token"]

log = logging.getLogger(__name__)

#: The shortest password ``users add`` and ``users passwd`` accept.
MIN_PASSWORD_LENGTH = 8

_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class AccountError(Exception):
    """An account request the administrator can fix (unknown login, bad role, ...)."""


def hash_token(token: str) -> str:
    """Return the stored form of an API token (tokens are random: a fast hash suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class UserLine:
    """A user as ``users list`` prints it."""

    login: str
    name: str
    role: str
    executor: str | None
    active: bool
    has_password: bool


def _viewer(user: UserRecord) -> Viewer:
    return Viewer(
        user_id=user.id,
        login=user.login,
        name=user.display_name,
        role=user.role.value,
        executor_code=user.executor_code,
        executor_name=user.executor_name,
    )


class AccountService:
    """Users, their passwords and tokens, over the database."""

    def __init__(
        self,
        *,
        sessionmaker: sessionmaker[Session],
        clock: Callable[[], datetime],
        hasher: PasswordHasher | None = None,
        reads: sessionmaker[Session] | None = None,
    ) -> None:
        """Take the session factory, the clock and (for tests, cheaper) a password hasher.

        ``reads`` (default: ``sessionmaker``) serves the per-request lookups of a session or
        token, e.g. storage.db.make_read_sessionmaker's autocommit sessions.
        """
        self._sessions = sessionmaker
        self._reads = reads or sessionmaker
        # The per-request lookups read one row: a plain connection of the same engine (and
        # pool) costs less CPU than a Session around it (bench/profile_web_request.py).
        self._read_engine: Engine = self._reads.kw["bind"]
        self._clock = clock
        self._hasher = hasher or PasswordHasher()
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    # ------------------------------------------------------------------ passwords

    def hash_password(self, password: str) -> str:
        """Return the Argon2id hash of a password."""
        return self._hasher.hash(password)

    @staticmethod
    def check_new_password(password: str) -> str:
        """Return the password if acceptable; AccountError otherwise (says why, not what)."""
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
        if password != password.strip():
            raise AccountError("the password must not start or end with spaces")
        return password

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            self._hasher.verify(stored or self._dummy, password)
        except (VerificationError, InvalidHashError):
            return False
        return stored is not None

    # ------------------------------------------------------------------ administration (CLI)

    def add_user(
        self,
        login: str,
        *,
        role: str,
        password: str,
        name: str | None = None,
        executor: str | None = None,
    ) -> UserLine:
        """Create a user with a password; an executor's employee names its executor."""
        if not _LOGIN.match(login):
            raise AccountError(
                f"login {login!r}: use 2-64 lower-case latin letters, digits, '.', '_' or '-'"
            )
        try:
            user_role = UserRole(role)
        except ValueError:
            roles = ", ".join(r.value for r in UserRole)
            raise AccountError(f"unknown role {role!r} (one of {roles})") from None
        if (user_role is UserRole.EXECUTOR) != (executor is not None):
            raise AccountError("--executor is required for role executor and only for it")
        digest = self.hash_password(self.check_new_password(password))
        with self._sessions.begin() as session:
            users = UserRepository(session)
            try:
                users.by_login(login)
            except RowNotFound:
                pass
            else:
                raise AccountError(f"user {login!r} already exists")
            executor_id = None
            if executor is not None:
                try:
                    executor_id = ExecutorRepository(session).by_code(executor).id
                except RowNotFound:
                    raise AccountError(f"no executor {executor!r}") from None
            record = users.add(
                login,
                name or login,
                user_role,
                executor_id=executor_id,
                password_hash=digest,
            )
        log.info("user %s added (%s)", login, user_role.value)
        return self._line(record, has_password=True)

    def set_password(self, login: str, password: str) -> None:
        """Change a user's password; the sessions issued before end."""
        digest = self.hash_password(self.check_new_password(password))
        with self._sessions.begin() as session:
            try:
                UserRepository(session).set_password_hash(login, digest)
            except RowNotFound:
                raise AccountError(f"no user {login!r}") from None
        log.info("password of user %s changed", login)

    def disable(self, login: str) -> None:
        """Disable a user: its sessions and tokens stop working at the next request."""
        with self._sessions.begin() as session:
            try:
                UserRepository(session).disable(login)
            except RowNotFound:
                raise AccountError(f"no user {login!r}") from None
        log.info("user %s disabled", login)

    def users(self) -> list[UserLine]:
        """Return every user, by login."""
        with self._sessions() as session:
            repo = UserRepository(session)
            lines = []
            for user in repo.all():
                stored = repo.credentials(user.login).password_hash
                lines.append(self._line(user, has_password=stored is not None))
            return lines

    def new_token(self, login: str) -> str:
        """Make a new API token for an active user and return it (only its hash is kept)."""
        token = "imt_" + secrets.token_urlsafe(32)
        with self._sessions.begin() as session:
            users = UserRepository(session)
            try:
                user = users.by_login(login)
            except RowNotFound:
                raise AccountError(f"no user {login!r}") from None
            if not user.active:
                raise AccountError(f"user {login!r} is disabled")
            users.add_token(user.id, hash_token(token), now=self._clock())
        log.info("API token issued for user %s", login)
        return token

    def revoke_tokens(self, login: str) -> int:
        """Revoke every API token of a user; return how many were live."""
        with self._sessions.begin() as session:
            users = UserRepository(session)
            try:
                user = users.by_login(login)
            except RowNotFound:
                raise AccountError(f"no user {login!r}") from None
            count = users.revoke_tokens(user.id, now=self._clock())
        log.info("%d API token(s) of user %s revoked", count, login)
        return count

    @staticmethod
    def _line(user: UserRecord, *, has_password: bool) -> UserLine:
        return UserLine(
            user.login,
            user.display_name,
            user.role.value,
            user.executor_code,
            user.active,
            has_password,
        )

    # ------------------------------------------------------------------ the web (sync parts)

    def authenticate_sync(self, login: str, password: str) -> Viewer:
        """Return the user if the password is right and the account active; Unauthorized else."""
        with self._sessions() as session:
            try:
                credentials = UserRepository(session).credentials(login)
            except RowNotFound:
                self._verify(None, password)  # the same work as for a real user
                raise Unauthorized("неверное имя пользователя или пароль") from None
        if not self._verify(credentials.password_hash, password) or not credentials.user.active:
            raise Unauthorized("неверное имя пользователя или пароль")
        stored = credentials.password_hash
        if stored is not None and self._hasher.check_needs_rehash(stored):
            with self._sessions.begin() as session:
                UserRepository(session).rehash(credentials.user.id, self.hash_password(password))
        return _viewer(credentials.user)

    def by_session_sync(self, user_id: int, epoch: int) -> Viewer | None:
        """Return the active user of a session whose epoch is current, else None."""
        with self._read_engine.connect() as conn:
            user = user_by_id(conn, user_id)
        if user is None or not user.active or user.session_epoch != epoch:
            return None
        return _viewer(user)

    def by_token_sync(self, token: str) -> Viewer | None:
        """Return the active user owning a live token, else None."""
        if not token.startswith("imt_"):
            return None
        with self._read_engine.connect() as conn:
            user = user_by_token_hash(conn, hash_token(token))
        if user is None or not user.active:
            return None
        return _viewer(user)

    def epoch_sync(self, user_id: int) -> int:
        """Return the user's session epoch."""
        with self._sessions() as session:
            return UserRepository(session).get(user_id).session_epoch

    # ------------------------------------------------------------------ web.contracts.Accounts

    async def authenticate(self, login: str, password: str) -> Viewer:
        """Check a login and password (in a worker thread: Argon2 takes tens of ms)."""
        if not login or not password:
            raise BadRequest("введите имя пользователя и пароль", field="login")
        return await asyncio.to_thread(self.authenticate_sync, login, password)

    async def by_session(self, user_id: int, epoch: int) -> Viewer | None:
        """Return the active user of a session cookie, or None."""
        return await asyncio.to_thread(self.by_session_sync, user_id, epoch)

    async def by_token(self, token: str) -> Viewer | None:
        """Return the active user owning a live API token, or None."""
        return await asyncio.to_thread(self.by_token_sync, token)

    async def issue_token(self, viewer: Viewer) -> str:
        """Make a new API token for the signed-in user."""
        return await asyncio.to_thread(self.new_token, viewer.login)

    async def session_epoch(self, user_id: int) -> int:
        """Return the user's session epoch."""
        return await asyncio.to_thread(self.epoch_sync, user_id)
