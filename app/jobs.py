"""The daemon's housekeeping jobs, built in one place: follow-up, notify, retrain, retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from app.collect import CollectService
from app.config import Config
from app.daemon import JobSpec
from app.followup import VkThreadReader, followup_jobs
from app.workflow import Workflow
from collector.pool import VkClientPool

__all__ = ["housekeeping_jobs", "lazy_lemma"]

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


def housekeeping_jobs(
    config: Config,
    *,
    sessions: sessionmaker[Session],
    workflow: Workflow,
    clock: Callable[[], datetime],
    collector: CollectService | None = None,
    lemma: Callable[[str], str] | None = None,
) -> list[JobSpec]:
    """Return the follow-up job (and the others as they are configured)."""
    return followup_jobs(
        config.followup,
        sessions=sessions,
        workflow=workflow,
        clock=clock,
        lemma=lemma or lazy_lemma(),
        reader=_thread_reader(collector),
    )
