"""The retrain, reclassify and retention jobs, and their registration with the daemon."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa

from app.collect import process_owner_id
from app.config import Config, RetentionConfig, RetrainConfig, load_config
from app.notify import NullNotifier
from app.retention import anonymise_expired, retention_jobs
from app.retrain import ReclassifyService, RetrainService, model_dir_version
from app.runtime import registered_jobs
from classifier.artifact import load_artifact, save_artifact
from classifier.corpus import load_seed_corpus
from classifier.lemmatizer import Lemmatizer
from classifier.rubricator import load_rubricator
from classifier.train import PromotionDecision, TrainedModels
from classifier.types import Classification as Verdict
from classifier.types import ClassificationInput
from storage.enums import LabelField, MessageKind, Network, Resolution
from storage.models import (
    Classification,
    Event,
    Incident,
    Message,
    MessageVersion,
    TrainingLabel,
)
from storage.repositories.grouping import GroupingRepository
from storage.repositories.outbox import JobStateRepository
from storage.repositories.sources import SourceRepository
from tests.factories import World, kirov, new_incident, world

ROOT = Path(__file__).resolve().parents[2]
RUBRICATOR = load_rubricator(None)
SEED = load_seed_corpus(None, rubricator=RUBRICATOR)[::8]
LEMMATIZER = Lemmatizer()

LABELS = [
    (
        "Во дворе на Ленина 12 третий день не вывозят мусор, контейнеры переполнены",
        "complaint",
        "true",
    ),
    ("Поздравляем победителей олимпиады по математике!", "complaint", "false"),
    ("На трассе Киров — Советск яма на яме, подвеска не выдерживает", "complaint", "true"),
    ("Продам гараж в Нововятске, недорого", "complaint", "false"),
    ("В поликлинике №2 не записаться к терапевту уже неделю", "complaint", "true"),
    ("Концерт в филармонии переносится на субботу", "complaint", "false"),
]


def add_labels(w: World, rows: Sequence[tuple[str, str, str]]) -> None:
    with w.sm.begin() as session:
        for text, field, value in rows:
            session.add(TrainingLabel(text=text, field=LabelField(field), value=value))


def used_versions(w: World) -> list[str | None]:
    with w.sm() as session:
        return list(
            session.scalars(
                sa.select(TrainingLabel.used_in_model_version).order_by(TrainingLabel.id)
            )
        )


def retrainer(w: World, out: Path, promoted: list[str], **options: Any) -> RetrainService:
    def current() -> Any:
        return load_artifact(out) if (out / "manifest.json").is_file() else None

    def save(trained: TrainedModels, scores: dict[str, Any]) -> str:
        return save_artifact(trained.models, out, training=trained.training, scores=scores).version

    return RetrainService(
        sessions=w.sm,
        config=RetrainConfig(min_new_labels=options.pop("min_new_labels", 5)),
        seed=lambda: SEED,
        rubricator=lambda: RUBRICATOR,
        lemmatize=lambda: LEMMATIZER.lemmatize_text,
        current=current,
        save=save,
        clock=w.clock,
        on_promoted=promoted.append,
        **options,
    )


def test_retrain_promotes_marks_labels_and_waits_for_new_ones(
    sqlite_url: str, tmp_path: Path
) -> None:
    w = world(sqlite_url)
    out = tmp_path / "model"
    promoted: list[str] = []
    add_labels(w, LABELS[:4])
    service = retrainer(w, out, promoted)

    too_few = service.run_once()
    add_labels(w, LABELS[4:])
    first = service.run_once()
    again = service.run_once()

    assert too_few.status == "skipped"
    assert "fewer than 5" in too_few.reason
    assert first.status == "promoted"
    assert first.version is not None
    assert promoted == [first.version]
    assert model_dir_version(out) == first.version
    assert used_versions(w) == [first.version] * len(LABELS)
    assert again.status == "skipped"


def test_a_candidate_that_does_not_improve_is_kept_out_until_new_labels(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world(sqlite_url)
    calls: list[int] = []

    def no_better(
        seed: object, labels: Sequence[object], **kwargs: object
    ) -> tuple[object, object]:
        calls.append(len(labels))
        return object(), PromotionDecision(False, "candidate scores 0.8 <= current 0.9", 1)

    monkeypatch.setattr("app.retrain.retrain_and_promote", no_better)
    promoted: list[str] = []
    service = retrainer(w, tmp_path / "model", promoted, min_new_labels=2)
    add_labels(w, LABELS[:3])

    kept = service.run_once()
    skipped = service.run_once()
    add_labels(w, LABELS[3:4])
    retried = service.run_once()

    assert (kept.status, skipped.status, retried.status) == ("kept", "skipped", "kept")
    assert calls == [3, 4]
    assert promoted == []
    assert used_versions(w) == [None] * 4


def test_another_process_holding_the_lease_skips_the_run(sqlite_url: str, tmp_path: Path) -> None:
    w = world(sqlite_url)
    add_labels(w, LABELS)
    with w.sm.begin() as session:
        assert JobStateRepository(session).claim_lease(
            "retrain", owner="other", until=w.clock() + timedelta(hours=1), now=w.clock()
        )
    service = retrainer(w, tmp_path / "model", [], owner="me")

    outcome = service.run_once()

    assert outcome.status == "skipped"
    assert "another process" in outcome.reason
    assert used_versions(w) == [None] * len(LABELS)


class VersionedClassifier:
    """Says every text is a road complaint, under a given model version."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.seen: list[str] = []

    def classify_many(self, items: Sequence[ClassificationInput]) -> list[Verdict]:
        self.seen.extend(i.text for i in items)
        return [
            Verdict(True, 0.9, "Дороги", "Ямы", 0.8, None, None, 0.0, self.version) for _ in items
        ]


def message(w: World, source_id: int, key: str, text: str, *, days_ago: float = 0) -> int:
    with w.sm.begin() as session:
        row = Message(
            network=Network.VK,
            source_id=source_id,
            external_id=key,
            kind=MessageKind.POST,
            author_id="12345",
            text=text,
            url=f"https://vk.com/wall{key}",
            geo_lat=58.6,
            geo_lon=49.6,
            posted_at=w.clock() - timedelta(days=days_ago),
            collected_at=w.clock() - timedelta(days=days_ago),
        )
        session.add(row)
        session.flush()
        return row.id


def link(w: World, incident_id: int, message_id: int) -> None:
    with w.sm.begin() as session:
        GroupingRepository(session).link(
            incident_id=incident_id,
            message_id=message_id,
            grouping_version="test",
            evidence={},
            now=w.clock(),
        )


def source(w: World) -> int:
    with w.sm.begin() as session:
        return SourceRepository(session).add(Network.VK, "-77", screen_name="kirov43").id


def test_reclassify_covers_open_incidents_in_batches_once_per_version(db_url: str) -> None:
    w = world(db_url)
    src = source(w)
    open_ = w.workflow.open_incident(new_incident())
    rejected = w.workflow.open_incident(new_incident())
    for n in range(3):
        link(w, open_.id, message(w, src, f"-77_{n}", f"Яма на дороге №{n} 🚗"))
    link(w, rejected.id, message(w, src, "-77_9", "Реклама: продаю шины"))
    w.workflow.reject(rejected, w.operator, "реклама")
    model = VersionedClassifier("tfidf-lr:2026-12-03+abc")
    service = ReclassifyService(sessions=w.sm, classifier=lambda: model, clock=w.clock, batch=2)

    runs = [service.run_once() for _ in range(3)]

    assert runs == [(model.version, 2), (model.version, 1), (model.version, 0)]
    assert "Реклама: продаю шины" not in model.seen
    newer = VersionedClassifier("tfidf-lr:2026-12-04+def")
    again = ReclassifyService(sessions=w.sm, classifier=lambda: newer, clock=w.clock, batch=10)
    assert again.run_once() == (newer.version, 3)
    with w.sm() as session:
        versions = session.execute(
            sa.select(Classification.model_version, sa.func.count()).group_by(
                Classification.model_version
            )
        ).all()
    assert dict(versions) == {model.version: 3, newer.version: 3}
    empty = ReclassifyService(sessions=w.sm, classifier=lambda: None, clock=w.clock, batch=10)
    assert empty.run_once() == (None, 0)


def test_retention_anonymises_old_closed_messages_and_keeps_counts_and_events(
    db_url: str,
) -> None:
    w = world(db_url, start=kirov("2025-10-14T10:00"))
    src = source(w)
    closed = w.workflow.open_incident(new_incident())
    old_closed = message(w, src, "-77_1", "Иванов Пётр: нет воды на Ленина 5", days_ago=400)
    link(w, closed.id, old_closed)
    with w.sm.begin() as session:
        session.add(MessageVersion(message_id=old_closed, version_no=1, text="первая версия"))
        session.execute(
            sa.update(Incident)
            .where(Incident.id == closed.id)
            .values(
                status="closed",
                closed_at=w.clock() - timedelta(days=380),
                resolution=Resolution.FIXED,
                message_count=1,
                author_count=1,
            )
        )
    open_ = w.workflow.open_incident(new_incident())
    old_open = message(w, src, "-77_2", "Яма у школы №3 до сих пор", days_ago=400)
    link(w, open_.id, old_open)
    old_unlinked = message(w, src, "-77_3", "Поздравляю маму с юбилеем!", days_ago=400)
    with w.sm.begin() as session:
        session.add(
            Classification(
                message_id=old_unlinked,
                is_complaint=False,
                complaint_confidence=0.1,
                evidence={},
                model_version="v1",
            )
        )
    old_waiting = message(w, src, "-77_4", "Ещё не классифицировано", days_ago=400)
    recent = message(w, src, "-77_5", "Свежая жалоба на свет", days_ago=10)
    with w.sm() as session:
        events_before = session.scalar(sa.select(sa.func.count()).select_from(Event))

    count = anonymise_expired(w.sm, days=365, batch=1, clock=w.clock)
    again = anonymise_expired(w.sm, days=365, batch=1, clock=w.clock)

    assert (count, again) == (2, 0)
    with w.sm() as session:
        rows = {m.id: m for m in session.scalars(sa.select(Message))}
        incident = session.get(Incident, closed.id)
        assert incident is not None
        assert (incident.message_count, incident.author_count) == (1, 1)
        assert session.scalar(sa.select(sa.func.count()).select_from(Event)) == events_before
        assert session.scalar(sa.select(sa.func.count()).select_from(MessageVersion)) == 0
    for gone in (old_closed, old_unlinked):
        row = rows[gone]
        assert (row.text, row.author_id, row.url, row.geo_lat) == ("", None, None, None)
        assert row.anonymised_at == w.clock()
    for kept in (old_open, old_waiting, recent):
        assert rows[kept].text != ""
        assert rows[kept].author_id == "12345"
        assert rows[kept].anonymised_at is None


def test_retention_job_is_off_until_a_period_is_set(sqlite_url: str) -> None:
    w = world(sqlite_url)
    assert retention_jobs(RetentionConfig(), sessions=w.sm, clock=w.clock) == []
    (job,) = retention_jobs(
        RetentionConfig(personal_data_days=30, interval=3600), sessions=w.sm, clock=w.clock
    )
    assert (job.name, job.interval_seconds) == ("retention", 3600)


def test_the_daemon_registers_every_housekeeping_job(sqlite_url: str, tmp_path: Path) -> None:
    w = world(sqlite_url)
    base = load_config(ROOT / "config.yaml", {})
    config = cast(
        "Config", base.model_copy(update={"retention": RetentionConfig(personal_data_days=1095)})
    )
    model = VersionedClassifier("v")

    class Slot:
        classifier = model

    jobs = registered_jobs(
        config,
        workflow=w.workflow,
        notifier=NullNotifier(),
        pipeline=cast("Any", Slot()),
        sessions=w.sm,
        clock=w.clock,
    )

    names = {j.name: j.interval_seconds for j in jobs}
    assert names["followup"] == config.followup.interval
    assert names["notify"] == config.notifications.interval
    assert names["retrain"] == config.scheduler.retrain_interval
    assert names["reclassify"] == config.retrain.reclassify_interval
    assert names["retention"] == config.retention.interval
    without = registered_jobs(config, workflow=w.workflow, notifier=NullNotifier())
    assert not {"followup", "notify", "retrain", "retention"} & {j.name for j in without}


async def test_a_retrain_killed_midway_does_not_hold_its_lease_for_two_hours(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world(sqlite_url)
    add_labels(w, LABELS)
    dead = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await dead.wait()  # a daemon on this host, SIGKILLed while training: its pid is gone
    killed = f"{socket.gethostname()}:{dead.pid}:9f8e7d6c"
    with w.sm.begin() as session:
        assert JobStateRepository(session).claim_lease(
            "retrain", owner=killed, until=w.clock() + timedelta(hours=2), now=w.clock()
        )
    monkeypatch.setattr(
        "app.retrain.retrain_and_promote",
        lambda *a, **k: (object(), PromotionDecision(False, "candidate scores no better", 1)),
    )
    service = retrainer(w, tmp_path / "model", [], owner=process_owner_id())

    outcome = service.run_once()

    assert outcome.status == "kept"  # it ran, instead of "another process is retraining"
