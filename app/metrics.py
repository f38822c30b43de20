"""Prometheus metrics of the service, in a registry passed in (none is global).

Two kinds: counters and histograms this process updates (messages collected, VK calls and
errors, pipeline outcomes, job durations), and figures read from the database at each scrape
(incidents by state, overdue assignments, per-source health, pipeline latency, the outbox), so
that every process reports the same truth however many run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from app.collect import CollectOutcome
from app.daemon import JobSpec
from app.pipeline import RunReport
from storage.enums import AssignmentStatus, IncidentStatus
from storage.models import Assignment, Classification, Incident, Message, NotificationOutbox
from storage.repositories.sources import SourceRepository

__all__ = ["DatabaseCollector", "Metrics", "VkClientCounters"]

log = logging.getLogger(__name__)

_LATENCY_WINDOW = timedelta(minutes=15)
_LATENCY_SAMPLE = 5000


class Metrics:
    """The counters and histograms this process updates, registered in ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Create every metric in ``registry``."""
        self.registry = registry
        self.messages_collected = Counter(
            "im_messages_collected",
            "Messages stored by collection (new posts and comments), per network and source.",
            ["network", "source"],
            registry=registry,
        )
        self.collect_polls = Counter(
            "im_collect_polls",
            "Polls of a source, by result (ok or failed).",
            ["network", "source", "result"],
            registry=registry,
        )
        self.pipeline_messages = Counter(
            "im_pipeline_messages",
            "Messages through the pipeline, by outcome (classified, complaint, created, "
            "attached, triage, dropped_<reason>, error_<kind>).",
            ["outcome"],
            registry=registry,
        )
        self.pipeline_run_seconds = Histogram(
            "im_pipeline_run_seconds",
            "Duration of one pipeline run that processed messages.",
            registry=registry,
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
        )
        self.job_seconds = Histogram(
            "im_job_duration_seconds",
            "Duration of scheduled job runs.",
            ["job"],
            registry=registry,
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900),
        )
        self.job_failures = Counter(
            "im_job_failures",
            "Scheduled job runs that raised.",
            ["job"],
            registry=registry,
        )

    def observe_collect(self, outcomes: Iterable[CollectOutcome]) -> None:
        """Count what one collect run stored, per network and source."""
        for outcome in outcomes:
            network = outcome.network
            self.collect_polls.labels(
                network, outcome.source, "ok" if outcome.ok else "failed"
            ).inc()
            if outcome.inserted:
                self.messages_collected.labels(network, outcome.source).inc(outcome.inserted)

    def observe_pipeline(self, report: RunReport) -> None:
        """Count the outcomes of one pipeline run."""
        counts: dict[str, int] = {
            "classified": report.classified,
            "complaint": report.complaints,
            "created": report.created,
            "attached": report.attached,
            "routed_auto": report.routed_auto,
            "triage": report.triage,
        }
        counts.update({f"dropped_{k}": v for k, v in report.dropped.items()})
        counts.update({f"error_{k}": v for k, v in report.errors.items()})
        for outcome, n in counts.items():
            if n:
                self.pipeline_messages.labels(outcome).inc(n)
        if report.classified:
            self.pipeline_run_seconds.observe(report.seconds)

    def instrument(self, jobs: Sequence[JobSpec]) -> list[JobSpec]:
        """Return the jobs wrapped so that each run's duration and failure are recorded."""
        return [JobSpec(j.name, self._timed(j), j.interval_seconds) for j in jobs]

    def _timed(self, job: JobSpec) -> Callable[[], Awaitable[None]]:
        duration = self.job_seconds.labels(job.name)
        failures = self.job_failures.labels(job.name)

        async def run() -> None:
            start = time.perf_counter()
            try:
                await job.func()
            except Exception:
                failures.inc()
                raise
            finally:
                duration.observe(time.perf_counter() - start)

        return run


class VkClientCounters(Collector):
    """Exposes the VK clients' named counters (``collector.vk.*``) as API calls and errors."""

    def __init__(self, counters: Mapping[str, int]) -> None:
        """Read ``counters``: the mapping the clients were built with (build_vk_pool)."""
        self._counters = counters

    def collect(self) -> Iterator[Metric]:
        """Yield calls, errors by code, retries by cause and quota refusals."""
        calls = CounterMetricFamily(
            "im_api_calls", "Requests sent to a network API.", labels=["network"]
        )
        errors = CounterMetricFamily(
            "im_api_errors",
            "Errors answered by a network API, by code.",
            labels=["network", "code"],
        )
        retries = CounterMetricFamily(
            "im_api_retries", "Requests retried, by cause.", labels=["network", "cause"]
        )
        refused = CounterMetricFamily(
            "im_api_quota_refused",
            "Calls not sent because the daily quota was used, by method.",
            labels=["network", "method"],
        )
        calls.add_metric(["vk"], float(self._counters.get("collector.vk.requests", 0)))
        for name, value in sorted(dict(self._counters).items()):
            if name.startswith("collector.vk.error."):
                errors.add_metric(["vk", name.removeprefix("collector.vk.error.")], float(value))
            elif name.startswith("collector.vk.retry."):
                retries.add_metric(["vk", name.removeprefix("collector.vk.retry.")], float(value))
            elif name.startswith("collector.vk.quota_refused."):
                method = name.removeprefix("collector.vk.quota_refused.")
                refused.add_metric(["vk", method], float(value))
        yield from (calls, errors, retries, refused)


class DatabaseCollector(Collector):
    """Figures read from the database at each scrape; ``im_database_up`` 0 when it cannot."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        """Read through ``sessions``; ``clock`` gives aware UTC now."""
        self._sessions = sessions
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        """Yield incidents by state, overdue count, source health, latency and the outbox."""
        up = GaugeMetricFamily("im_database_up", "1 when the database answered the scrape.")
        try:
            found = list(self._read())
        except Exception as err:  # a scrape must answer even while the database is down
            log.debug("metrics: the database did not answer: %s", err)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from found

    def _read(self) -> Iterator[Metric]:
        now = self._clock()
        with self._sessions() as session:
            incidents = GaugeMetricFamily(
                "im_incidents", "Incidents by workflow state.", labels=["state"]
            )
            counted = dict(
                session.execute(
                    sa.select(Incident.status, sa.func.count()).group_by(Incident.status)
                ).all()
            )
            for state in IncidentStatus:
                incidents.add_metric([state.value], float(counted.get(state, 0)))
            yield incidents

            overdue = GaugeMetricFamily(
                "im_overdue_assignments",
                "Open assignments whose deadline has passed (paused clocks excluded).",
            )
            overdue.add_metric(
                [],
                float(
                    session.scalar(
                        sa.select(sa.func.count()).where(
                            Assignment.status.in_(
                                [AssignmentStatus.ASSIGNED, AssignmentStatus.RECEIVED]
                            ),
                            Assignment.deadline_at < now,
                        )
                    )
                    or 0
                ),
            )
            yield overdue
            yield from self._sources(session, now)
            yield self._latency(session, now)
            outbox = GaugeMetricFamily(
                "im_notifications", "Notifications in the outbox, by status.", labels=["status"]
            )
            for status, n in session.execute(
                sa.select(NotificationOutbox.status, sa.func.count()).group_by(
                    NotificationOutbox.status
                )
            ):
                outbox.add_metric([str(status)], float(n))
            yield outbox

    @staticmethod
    def _sources(session: Session, now: datetime) -> Iterator[Metric]:
        labels = ["network", "source"]
        up = GaugeMetricFamily(
            "im_source_up",
            "1 when a source's last poll succeeded (enabled sources).",
            labels=labels,
        )
        failures = GaugeMetricFamily(
            "im_source_consecutive_failures", "Failed polls in a row.", labels=labels
        )
        success = GaugeMetricFamily(
            "im_source_last_success_timestamp_seconds",
            "When a source was last polled successfully (Unix time).",
            labels=labels,
        )
        lag = GaugeMetricFamily(
            "im_source_lag_seconds", "How far behind a source's newest message is.", labels=labels
        )
        for source in SourceRepository(session).all():
            if not source.enabled:
                continue
            key = [source.network.value, source.name]
            health = source.health
            up.add_metric(key, 0.0 if health.down else 1.0)
            failures.add_metric(key, float(health.consecutive_failures))
            if health.last_success_at is not None:
                success.add_metric(key, health.last_success_at.timestamp())
            if health.lag_seconds is not None:
                lag.add_metric(key, float(health.lag_seconds))
        yield from (up, failures, success, lag)

    @staticmethod
    def _latency(session: Session, now: datetime) -> Metric:
        """Quantiles of collection-to-classification time over the last 15 minutes."""
        latency = GaugeMetricFamily(
            "im_pipeline_latency_seconds",
            "Time from a message's collection to its classification, over the last 15 "
            "minutes (quantiles 0.5, 0.9, 1).",
            labels=["quantile"],
        )
        rows = session.execute(
            sa.select(Classification.created_at, Message.collected_at)
            .join(Message, Message.id == Classification.message_id)
            .where(Classification.created_at >= now - _LATENCY_WINDOW)
            .order_by(Classification.created_at.desc())
            .limit(_LATENCY_SAMPLE)
        ).all()
        delays = sorted(max(0.0, (c - m).total_seconds()) for c, m in rows)
        if delays:
            for q in (0.5, 0.9, 1.0):
                latency.add_metric([f"{q:g}"], delays[min(len(delays) - 1, int(q * len(delays)))])
        return latency
