"""The daemon's housekeeping jobs, built in one place: follow-up, notify, retrain, retention."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.orm import Session, sessionmaker

from app.collect import CollectService
from app.config import Config
from app.daemon import JobSpec
from app.followup import VkThreadReader, followup_jobs
from app.notify import Channel
from app.notify_channels import SmtpChannel, TelegramChannel, WebhookChannel
from app.notify_job import NotifyService, Recipients, notify_jobs
from app.pipeline import TextClassifier
from app.retention import retention_jobs
from app.retrain import (
    ReclassifyService,
    RetrainService,
    model_dir_version,
    reclassify_jobs,
    retrain_jobs,
)
from app.routing import build_routing
from app.workflow import Workflow
from classifier.artifact import ModelArtifact
from classifier.corpus import SeedExample
from classifier.rubricator import Rubricator
from classifier.train import TrainedModels
from collector.pool import VkClientPool

log = logging.getLogger(__name__)

__all__ = [
    "build_notify_service",
    "build_retrain_service",
    "housekeeping_jobs",
    "lazy_lemma",
    "model_dir_of",
    "recipients_of",
]

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

    E-mail needs ``notifications.smtp.host``; webhooks an HTTP session; Telegram also
    ``networks.telegram.bot_token``. A channel that is missing leaves its notifications queued,
    not lost.
    """
    section = config.notifications
    if not section.enabled:
        return None
    channels: list[Channel] = []
    if section.smtp.host is not None:
        channels.append(SmtpChannel(section.smtp))
    elif section.supervisors.email or any(e.notify.email for e in config.executors):
        log.warning("notifications.smtp.host is not set: e-mail notifications are queued, not sent")
    if http is not None:
        channels.append(WebhookChannel(http, timeout=section.webhook_timeout))
        telegram = config.networks.telegram
        if telegram.bot_token is not None and telegram.bot_token.get_secret_value():
            channels.append(
                TelegramChannel(
                    http,
                    token=telegram.bot_token.get_secret_value(),
                    api_url=telegram.bot_api_url,
                    timeout=section.webhook_timeout,
                )
            )
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


def model_dir_of(config: Config) -> Path:
    """Return where ``train`` and the retrain job write the model."""
    from app.commands.classify_cmd import DEFAULT_MODEL_DIR

    return config.classifier.model_dir or DEFAULT_MODEL_DIR


def build_retrain_service(
    config: Config,
    *,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    on_promoted: Callable[[str], None] | None = None,
) -> RetrainService:
    """Build the retrain service on the configured rubricator, seed corpus and model folder."""
    out = model_dir_of(config)
    loaded: dict[str, Any] = {}

    def rubricator() -> Rubricator:
        if "rubricator" not in loaded:
            from classifier.rubricator import load_rubricator

            loaded["rubricator"] = load_rubricator(config.classifier.rubricator)
        found: Rubricator = loaded["rubricator"]
        return found

    def seed() -> Sequence[SeedExample]:
        from classifier.corpus import load_seed_corpus

        return load_seed_corpus(None, rubricator=rubricator())

    def lemmatize() -> Callable[[str], list[str]]:
        from classifier.lemmatizer import Lemmatizer

        return Lemmatizer().lemmatize_text

    def current() -> ModelArtifact | None:
        from app.commands.classify_cmd import resolve_model_dir
        from classifier.artifact import ModelArtifactError, load_artifact

        try:
            return load_artifact(resolve_model_dir(None, config.classifier.model_dir))
        except ModelArtifactError as err:
            log.warning("retrain: the current model does not load (%s); any candidate wins", err)
            return None

    def save(trained: TrainedModels, scores: dict[str, Any]) -> str:
        from classifier.artifact import save_artifact

        return save_artifact(trained.models, out, training=trained.training, scores=scores).version

    return RetrainService(
        sessions=sessions,
        config=config.retrain,
        seed=seed,
        rubricator=rubricator,
        lemmatize=lemmatize,
        current=current,
        save=save,
        clock=clock,
        on_promoted=on_promoted,
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
    classifier: Callable[[], TextClassifier | None] | None = None,
    reload_model: Callable[[], None] | None = None,
) -> list[JobSpec]:
    """Return the follow-up, notify, retrain, reclassify and retention jobs that are on.

    ``classifier`` returns the pipeline's classifier now (reclassify needs it) and
    ``reload_model`` makes the pipeline load the model from disk again.
    """
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
    if classifier is not None:

        def on_promoted(version: str) -> None:
            if reload_model is not None:
                reload_model()

        def model_changed() -> bool:
            current = classifier()
            on_disk = model_dir_version(model_dir_of(config))
            if on_disk is None or current is None or current.version == on_disk:
                return False
            log.info("reclassify: model %s on disk replaces %s", on_disk, current.version)
            if reload_model is not None:
                reload_model()
            return True

        jobs += retrain_jobs(
            build_retrain_service(config, sessions=sessions, clock=clock, on_promoted=on_promoted),
            config.retrain,
            config.scheduler.retrain_interval,
        )
        jobs += reclassify_jobs(
            ReclassifyService(
                sessions=sessions,
                classifier=classifier,
                clock=clock,
                batch=config.retrain.reclassify_batch,
            ),
            config.retrain,
            model_changed=model_changed,
        )
    jobs += retention_jobs(config.retention, sessions=sessions, clock=clock)
    return jobs
