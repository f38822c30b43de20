"""The daemon's housekeeping jobs, built in one place: follow-up, notify, retrain, retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import aiohttp
from sqlalchemy.orm import Session, sessionmaker

from app.collect import CollectService
from app.config import Config
from app.daemon import JobSpec
from app.followup import VkThreadReader, followup_jobs
from app.notify import Channel
from app.notify_channels import SmtpChannel, WebhookChannel
from app.notify_job import NotifyService, Recipients, notify_jobs
from app.routing import build_routing
from app.workflow import Workflow
from collector.pool import VkClientPool

__all__ = ["build_notify_service", "housekeeping_jobs", "lazy_lemma", "recipients_of"]

_READERS = ("service", "user")


def lazy_lemma() -> Callable[[str], str]:
    """Return a one-word lemmatiser that loads pymorphy3 only when first called."""
    loaded: list[Callable[[str], str]] = []

    def lemma(word: str) -> str:
        if not loaded:
            from classifier.lemmatizer import Lemmatizer

            loaded.append(Lemmatizer().lemma)
        return loaded[0](word)

    return lemma


def _thread_reader(collector: CollectService | None) -> VkThreadReader | None:
    pool = None if collector is None else collector.api
    if not isinstance(pool, VkClientPool) or not any(c.kind in _READERS for c in pool.clients):
        return None
    return VkThreadReader(pool.subset(_READERS))


def recipients_of(config: Config) -> Recipients:
    """Return who is notified of what, from ``executors[].notify`` and the supervisors."""
    section = config.notifications.supervisors
    return Recipients(
        executors={e.code: e.notify for e in config.executors},
        executor_names={e.code: e.name for e in config.executors},
        supervisors_email=section.email,
        supervisors_webhook=section.webhook,
        supervisors_events=section.events,
    )


def build_notify_service(
    config: Config,
    *,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    http: aiohttp.ClientSession | None,
) -> NotifyService | None:
    """Build the notify service with the channels configured (None when notifications are off).

    E-mail needs ``notifications.smtp.host``; webhooks need an HTTP session. A channel that is
    missing leaves its notifications queued, not lost.
    """
    section = config.notifications
    if not section.enabled:
        return None
    channels: list[Channel] = []
    if section.smtp.host is not None:
        channels.append(SmtpChannel(section.smtp))
    if http is not None:
        channels.append(WebhookChannel(http, timeout=section.webhook_timeout))
    return NotifyService(
        sessions=sessions,
        config=section,
        recipients=recipients_of(config),
        routing=build_routing(config),
        channels=channels,
        clock=clock,
        zone=config.region.timezone,
        public_url=config.web.public_url,
    )


def housekeeping_jobs(
    config: Config,
    *,
    sessions: sessionmaker[Session],
    workflow: Workflow,
    clock: Callable[[], datetime],
    collector: CollectService | None = None,
    lemma: Callable[[str], str] | None = None,
    http: aiohttp.ClientSession | None = None,
) -> list[JobSpec]:
    """Return the follow-up and notify jobs (each only when configured on)."""
    jobs = followup_jobs(
        config.followup,
        sessions=sessions,
        workflow=workflow,
        clock=clock,
        lemma=lemma or lazy_lemma(),
        reader=_thread_reader(collector),
    )
    notify = build_notify_service(config, sessions=sessions, clock=clock, http=http)
    jobs += notify_jobs(notify, config.notifications)
    return jobs
