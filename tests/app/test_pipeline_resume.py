"""Test that the daemon's chunked runs go on where the last one stopped, and lose nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from storage.models import Classification
from storage.repositories.classifications import ClassificationRepository, PendingMessage
from tests.app.test_pipeline_batch import AD, CLINIC, POTHOLES, VERSION, pipeline_for
from tests.app.test_pipeline_support import add_source, post
from tests.factories import world


def spy_scans(monkeypatch: Any) -> list[int]:
    """Record the ``after_id`` of every pending-message query made from now on."""
    seen: list[int] = []
    real = ClassificationRepository.pending

    def spy(self: ClassificationRepository, version: str, **kw: Any) -> list[PendingMessage]:
        seen.append(kw.get("after_id", 0))
        return real(self, version, **kw)

    monkeypatch.setattr(ClassificationRepository, "pending", spy)
    return seen


def test_a_chunked_run_goes_on_after_the_last_chunk(db_url: str, monkeypatch: Any) -> None:
    w = world(db_url)
    source = add_source(w.sm)
    now = w.clock()
    texts = [*POTHOLES, CLINIC, AD]
    for k, text in enumerate(texts):
        post(w.sm, source, text, now - timedelta(hours=6 - k), author=30 + k)
    pipeline = pipeline_for(w, batch_size=2)
    with w.sm() as s:
        ids = [m.id for m in ClassificationRepository(s).pending(VERSION, limit=10)]
    seen = spy_scans(monkeypatch)

    reports = [pipeline.run_once(2) for _ in range(4)]

    assert [r.classified for r in reports] == [2, 2, 2, 0]
    # Each chunk starts after the previous chunk's last message, not from the first id again;
    # the run that finds nothing more makes the next one scan from the start.
    assert seen == [0, ids[1], ids[3], ids[5]]
    assert pipeline.run_once(2).classified == 0
    assert seen[-1] == 0
    with w.sm() as s:
        assert ClassificationRepository(s).count_pending(VERSION) == 0


def test_a_message_behind_the_resume_point_is_found_once_the_end_is_reached(
    db_url: str,
) -> None:
    w = world(db_url)
    source = add_source(w.sm)
    now = w.clock()
    for k, text in enumerate([*POTHOLES, CLINIC]):
        post(w.sm, source, text, now - timedelta(hours=6 - k), author=30 + k)
    pipeline = pipeline_for(w, batch_size=2)
    assert pipeline.run_once(2).classified == 2
    assert pipeline.run_once(2).classified == 2
    # A message committed late under a lower id (another writer's transaction): here, the
    # first message's verdict taken away, so it is pending again behind the resume point.
    with w.sm.begin() as s:
        first = min(s.scalars(sa.select(Classification.message_id)))
        s.execute(sa.delete(Classification).where(Classification.message_id == first))

    later = [pipeline.run_once(2) for _ in range(3)]

    assert sum(r.classified for r in later) == 2  # the last new one, then the one behind
    with w.sm() as s:
        assert ClassificationRepository(s).count_pending(VERSION) == 0
