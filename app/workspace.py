"""Builds the web workspace's services (accounts, queries, actions) for create_app."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import AccountService
from app.actions import ActionService
from app.config import Config
from app.dashboards import KpiService
from app.export_service import ExportService
from app.queries import QueryService
from app.workflow import Workflow
from classifier.rubricator import RubricatorError, load_rubricator
from storage.db import make_read_sessionmaker
from web.contracts import Workspace

__all__ = ["SECRET_FILE", "build_workspace", "session_secret"]

log = logging.getLogger(__name__)

#: The generated session key's file name (beside the SQLite database, or under ./var).
SECRET_FILE = "session-secret"  # noqa: S105 - a file name, not a secret


def _secret_dir(config: Config) -> Path:
    url = make_url(config.database.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent
    return Path("var")


def session_secret(config: Config) -> str:
    """Return the key that signs sessions: ``web.session_secret``, else a generated one.

    The generated key is kept (mode 0600) in ``session-secret`` beside the SQLite database, or
    under ./var, so that sessions survive a restart; it is never logged.
    """
    configured = config.web.session_secret
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value()
    path = _secret_dir(config) / SECRET_FILE
    try:
        existing = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        existing = ""
    if len(existing) >= 32:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    generated = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(generated + "\n")
    log.info("web.session_secret is not set: generated a session key in %s", path)
    return generated


def build_workspace(
    config: Config,
    *,
    sessions: sessionmaker[Session],
    workflow: Workflow,
    clock: Callable[[], datetime],
    hasher: PasswordHasher | None = None,
    secret: str | None = None,
) -> Workspace:
    """Build the services the workspace's pages (and the API) use."""
    try:
        rubricator = load_rubricator(config.classifier.rubricator)
    except RubricatorError as err:  # validated at config load; a vanished file is not fatal
        log.error("the rubricator cannot be loaded, topic lists stay empty: %s", err)
        rubricator = None
    region = config.region.reference
    public = config.web.public_url
    reads = make_read_sessionmaker(sessions)
    return Workspace(
        accounts=AccountService(sessionmaker=sessions, clock=clock, hasher=hasher, reads=reads),
        queries=QueryService(
            sessionmaker=reads,
            routing=lambda: workflow.routing,
            clock=clock,
            rubricator=rubricator,
            region=region,
        ),
        actions=ActionService(
            workflow=workflow,
            sessionmaker=sessions,
            clock=clock,
            rubricator=rubricator,
            region=region,
        ),
        dashboards=KpiService(
            sessionmaker=sessions,
            routing=lambda: workflow.routing,
            clock=clock,
            timezone=config.region.timezone,
        ),
        session_secret=secret or session_secret(config),
        clock=clock,
        secure_cookies=public is not None and public.startswith("https://"),
        exports=ExportService(
            sessionmaker=sessions,
            clock=clock,
            timezone=config.region.timezone,
            public_url=public,
        ),
    )
