"""Per-source health: last success, failures, the error, and logging each transition once."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace

from collector.errors import VkAccessDenied, VkAuthError, VkCaptchaNeeded, VkError, VkRateLimited

__all__ = ["Failure", "SourceHealth", "classify_failure", "log_transition"]

log = logging.getLogger("collector.health")


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failed poll means for its source.

    ``disable_reason`` is set when polling the source again is pointless until an operator acts
    (closed, deleted or blocked wall); ``retry_after`` when the next poll should wait (quota
    rest); ``alert`` when an operator must be told (dead token, captcha).
    """

    message: str
    disable_reason: str | None = None
    retry_after: float | None = None
    alert: bool = False


def classify_failure(err: Exception) -> Failure:
    """Return what a poll's exception means for the source."""
    if isinstance(err, VkAccessDenied) and err.code != 212:
        return Failure(str(err), disable_reason=f"{err.reason}: {err.error_msg}")
    if isinstance(err, VkRateLimited):
        return Failure(str(err), retry_after=err.retry_after)
    if isinstance(err, VkAuthError | VkCaptchaNeeded):
        return Failure(str(err), alert=True)
    if isinstance(err, VkError):
        return Failure(str(err))
    return Failure(f"{type(err).__name__}: {err}")


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """The health fields of a source, as stored and shown on the status page."""

    last_success_at: dt.datetime | None = None
    last_attempt_at: dt.datetime | None = None
    lag_seconds: int | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    disabled_reason: str | None = None

    @property
    def down(self) -> bool:
        """Return True while the last poll failed or the source is disabled."""
        return self.consecutive_failures > 0 or self.disabled_reason is not None

    def succeeded(self, now: dt.datetime, lag_seconds: int | None) -> SourceHealth:
        """Return the health after a successful poll."""
        return replace(
            self,
            last_success_at=now,
            last_attempt_at=now,
            lag_seconds=lag_seconds if lag_seconds is not None else self.lag_seconds,
            consecutive_failures=0,
            last_error=None,
            disabled_reason=None,
        )

    def failed(self, now: dt.datetime, failure: Failure) -> SourceHealth:
        """Return the health after a failed poll."""
        return replace(
            self,
            last_attempt_at=now,
            consecutive_failures=self.consecutive_failures + 1,
            last_error=failure.message,
            disabled_reason=failure.disable_reason or self.disabled_reason,
        )


def log_transition(source: str, before: SourceHealth, after: SourceHealth) -> str | None:
    """Log once when a source goes down and once when it recovers; return what was logged."""
    if not before.down and after.down:
        if after.disabled_reason:
            log.warning("source %s unavailable, disabled: %s", source, after.disabled_reason)
        else:
            log.warning("source %s unavailable: %s", source, after.last_error)
        return "down"
    if before.down and not after.down:
        log.info("source %s recovered after %d failures", source, before.consecutive_failures)
        return "recovered"
    return None
