"""The ``retrain`` and ``reclassify`` jobs: learn from operators' labels, then catch up.

``retrain`` (every ``scheduler.retrain_interval``): once ``retrain.min_new_labels`` labels are not
yet in a model, train on the seed corpus and every label, compare with the current model on the
held-back labels (classifier/train.py), and write the new model to ``classifier.model_dir`` only
if it scores better; the labels are then marked with the new model's version. A candidate that
did not improve is not tried again until more labels arrive. One process at a time holds the
job's lease (``job_state``), so several daemons train once.

``reclassify`` (every ``retrain.reclassify_interval``): when the model on disk is not the one the
pipeline runs, the pipeline is rebuilt with it; then the messages of open incidents that the
current model has not classified are classified again, a batch per run, each verdict stored with
its model version beside the older ones (incidents keep their routing).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.collect import process_owner_id
from app.config import RetrainConfig
from app.daemon import JobSpec
from app.leases import owner_is_dead
from app.pipeline import TextClassifier
from classifier.artifact import ModelArtifact
from classifier.corpus import SeedExample
from classifier.rubricator import Rubricator
from classifier.train import OperatorLabel, TrainedModels, label_field, retrain_and_promote
from classifier.types import ClassificationInput
from storage.repositories.classifications import ClassificationRepository
from storage.repositories.housekeeping import HousekeepingRepository
from storage.repositories.outbox import JobStateRepository

__all__ = [
    "ReclassifyService",
    "RetrainOutcome",
    "RetrainService",
    "reclassify_jobs",
    "retrain_jobs",
]

log = logging.getLogger(__name__)

RETRAIN_JOB = "retrain"
_LEASE = timedelta(hours=2)

Lemmatize = Callable[[str], list[str]]
SaveModel = Callable[[TrainedModels, dict[str, Any]], str]


@dataclass(frozen=True, slots=True)
class RetrainOutcome:
    """What one retrain run did: skipped (why), kept the current model, or promoted one."""

    status: str  # skipped, kept, promoted
    reason: str
    version: str | None = None
    labels: int = 0


class RetrainService:
    """Retrains on operators' labels and promotes a better model (collaborators injected)."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        config: RetrainConfig,
        seed: Callable[[], Sequence[SeedExample]],
        rubricator: Callable[[], Rubricator],
        lemmatize: Callable[[], Lemmatize],
        current: Callable[[], ModelArtifact | None],
        save: SaveModel,
        clock: Callable[[], datetime],
        on_promoted: Callable[[str], None] | None = None,
        owner: str | None = None,
    ) -> None:
        """Train with ``seed``, ``rubricator`` and ``lemmatize`` (loaded on first use).

        ``current`` loads the model in service (None: none trained yet); ``save`` writes a
        promoted candidate and returns its version; ``on_promoted`` hears about it.
        """
        self._sessions = sessions
        self._config = config
        self._seed = seed
        self._rubricator = rubricator
        self._lemmatize = lemmatize
        self._current = current
        self._save = save
        self._clock = clock
        self._on_promoted = on_promoted
        self._owner = owner or process_owner_id()

    def _claim(self) -> tuple[int, int, dict[str, Any]] | None:
        """Return (unused labels, newest label id, job state) with the lease, or None."""
        now = self._clock()
        with self._sessions.begin() as session:
            unused, newest = HousekeepingRepository(session).unused_labels()
            state = JobStateRepository(session)
            _, value = state.get(RETRAIN_JOB)
            if unused < self._config.min_new_labels or newest <= int(value.get("tried_up_to", 0)):
                return unused, newest, value
            if not state.claim_lease(
                RETRAIN_JOB,
                owner=self._owner,
                until=now + _LEASE,
                now=now,
                is_dead=lambda holder: owner_is_dead(holder, self._owner),
            ):
                return None
            return unused, newest, {**value, "claimed": True}

    def run_once(self) -> RetrainOutcome:
        """Retrain if enough new labels arrived; promote only on improvement."""
        claimed = self._claim()
        if claimed is None:
            return RetrainOutcome("skipped", "another process is retraining")
        unused, newest, value = claimed
        if not value.get("claimed"):
            if unused < self._config.min_new_labels:
                reason = f"{unused} new labels, fewer than {self._config.min_new_labels}"
            else:
                reason = "no label since the last candidate that did not improve"
            return RetrainOutcome("skipped", reason, labels=unused)
        outcome = RetrainOutcome("skipped", "training failed")
        try:
            outcome = self._train(newest)
        finally:
            with self._sessions.begin() as session:
                JobStateRepository(session).release_lease(
                    RETRAIN_JOB,
                    owner=self._owner,
                    now=self._clock(),
                    tried_up_to=newest
                    if outcome.status != "skipped"
                    else value.get("tried_up_to", 0),
                    last_outcome=outcome.status,
                    last_reason=outcome.reason,
                    last_version=outcome.version,
                )
        return outcome

    def _train(self, newest: int) -> RetrainOutcome:
        with self._sessions() as session:
            rows = HousekeepingRepository(session).labels(up_to_id=newest)
        labels = []
        for row in rows:
            try:
                labels.append(OperatorLabel(row.text, label_field(row.field), row.value))
            except ValueError:
                continue
        current = self._current()
        trained, decision = retrain_and_promote(
            self._seed(),
            labels,
            current=current.models if current is not None else None,
            lemmatize=self._lemmatize(),
            rubricator=self._rubricator(),
        )
        if not decision.promoted:
            log.info("retrain: %s (%d labels)", decision.reason, len(labels))
            return RetrainOutcome("kept", decision.reason, labels=len(labels))
        version = self._save(trained, {"promotion": decision.to_json()})
        with self._sessions.begin() as session:
            marked = HousekeepingRepository(session).mark_labels_used(
                up_to_id=newest, model_version=version
            )
        log.info(
            "retrain: promoted %s (%s); %d labels marked used", version, decision.reason, marked
        )
        if self._on_promoted is not None:
            self._on_promoted(version)
        return RetrainOutcome("promoted", decision.reason, version, len(labels))


class ReclassifyService:
    """Classifies open incidents' messages again with the current model, a batch per run."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        classifier: Callable[[], TextClassifier | None],
        clock: Callable[[], datetime],
        batch: int,
    ) -> None:
        """Use whatever classifier ``classifier`` returns now (None: nothing to do yet)."""
        self._sessions = sessions
        self._classifier = classifier
        self._clock = clock
        self._batch = batch

    def run_once(self) -> tuple[str | None, int]:
        """Return the model version and how many messages it classified in this run."""
        classifier = self._classifier()
        if classifier is None:
            return None, 0
        version = classifier.version
        with self._sessions() as session:
            todo = HousekeepingRepository(session).open_messages_without(version, limit=self._batch)
        if not todo:
            return version, 0
        results = classifier.classify_many(
            [
                ClassificationInput(
                    text=m.text,
                    source_municipality=m.source_municipality,
                    lat=m.geo_lat,
                    lon=m.geo_lon,
                )
                for m in todo
            ]
        )
        now = self._clock()
        stored = 0
        with self._sessions.begin() as session:
            repo = ClassificationRepository(session)
            for message, result in zip(todo, results, strict=True):
                stored += repo.add(message.message_id, result, now=now)
        return version, stored


def retrain_jobs(
    service: RetrainService | None, config: RetrainConfig, interval: int
) -> list[JobSpec]:
    """Return the ``retrain`` job (none when ``retrain.enabled`` is off)."""
    if service is None or not config.enabled:
        return []

    async def run() -> None:
        outcome = await asyncio.to_thread(service.run_once)
        if outcome.status != "skipped":
            log.info("retrain: %s: %s", outcome.status, outcome.reason)

    job: Callable[[], Awaitable[None]] = run
    return [JobSpec(name=RETRAIN_JOB, func=job, interval_seconds=interval)]


def reclassify_jobs(
    service: ReclassifyService | None,
    config: RetrainConfig,
    *,
    model_changed: Callable[[], bool] | None = None,
) -> list[JobSpec]:
    """Return the ``reclassify`` job; ``model_changed`` first reloads a model changed on disk."""
    if service is None or not config.enabled:
        return []

    async def run() -> None:
        if model_changed is not None:
            await asyncio.to_thread(model_changed)
        version, stored = await asyncio.to_thread(service.run_once)
        if stored:
            log.info("reclassify: %d messages of open incidents classified by %s", stored, version)

    job: Callable[[], Awaitable[None]] = run
    return [JobSpec(name="reclassify", func=job, interval_seconds=config.reclassify_interval)]


def model_dir_version(directory: Path) -> str | None:
    """Return the version of the model written in ``directory`` (None: none there)."""
    from classifier.artifact import ModelArtifactError, read_manifest

    if not (directory / "manifest.json").is_file():
        return None
    try:
        return read_manifest(directory).version
    except ModelArtifactError:
        return None
