"""Bring the database in line with the configuration: executors and bootstrap users."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from app.config import Config, ExecutorConfig
from storage.enums import ExecutorKind, UserRole
from storage.repositories.executors import ExecutorRepository, ExecutorSpec, SyncResult
from storage.repositories.users import UserRepository, UserSpec

log = logging.getLogger(__name__)

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    """What one bootstrap changed."""

    executors: SyncResult
    users: SyncResult


def executor_spec(executor: ExecutorConfig) -> ExecutorSpec:
    """Describe a configured executor as the executors table stores it."""
    schedule = {
        day: [str(interval) for interval in intervals]
        for day, intervals in zip(_DAYS, executor.schedule.week, strict=True)
        if intervals
    }
    return ExecutorSpec(
        code=executor.code,
        name=executor.name,
        kind=ExecutorKind(executor.kind),
        municipality=executor.municipality.name if executor.municipality else None,
        municipality_oktmo=executor.municipality.oktmo if executor.municipality else None,
        timezone=executor.timezone,
        schedule=schedule,
    )


def bootstrap(
    config: Config,
    sessions: sessionmaker[Session],
    *,
    hash_password: Callable[[str], str] | None = None,
) -> BootstrapResult:
    """Sync executors (add, update, deactivate) and create missing users, in one transaction.

    A configured password (from the environment variable config.yaml names) is hashed with
    ``hash_password`` (Argon2id by default) and given to a user that has none yet; a password
    set later with ``users passwd`` is never overwritten.
    """
    hasher = hash_password or PasswordHasher().hash
    with sessions.begin() as session:
        executors = ExecutorRepository(session).sync(
            [executor_spec(executor) for executor in config.executors]
        )
        repo = UserRepository(session)
        with_password = {
            u.login for u in repo.all() if repo.credentials(u.login).password_hash is not None
        }
        users = repo.sync(
            [
                UserSpec(
                    login=user.login,
                    display_name=user.name,
                    role=UserRole(user.role),
                    executor_code=user.executor,
                    password_hash=(
                        hasher(user.password.get_secret_value())
                        if user.password is not None and user.login not in with_password
                        else None
                    ),
                )
                for user in config.users
            ]
        )
    if executors.added or executors.updated or executors.deactivated or users.added:
        log.info(
            "configuration applied: executors +%d ~%d -%d, users +%d",
            len(executors.added),
            len(executors.updated),
            len(executors.deactivated),
            len(users.added),
        )
    return BootstrapResult(executors=executors, users=users)
