"""OK's error codes mapped onto the collector's VK exception classes.

The collect service and :func:`collector.health.classify_failure` know four kinds of failure:
retry with backoff, rest the token, disable the token, source unavailable. An OK error is an
instance of the VK class of its kind (``OkRateLimited`` is a ``VkRateLimited``), so every
network's failures are handled in one place. Codes: social-apis.md B4 and B5.
"""

from __future__ import annotations

from collector.errors import (
    VkAccessDenied,
    VkApiError,
    VkAuthError,
    VkConnectionError,
    VkError,
    VkRateLimited,
    VkServerError,
)

__all__ = [
    "OK_AUTH_CODES",
    "OK_RATE_CODES",
    "OK_RETRYABLE_CODES",
    "OK_UNAVAILABLE_CODES",
    "OkAccessDenied",
    "OkApiError",
    "OkAuthError",
    "OkConnectionError",
    "OkRateLimited",
    "OkServerError",
    "ok_error_for_code",
]

#: Retried with backoff: 1 UNKNOWN, 2 SERVICE (temporarily unavailable), 30 NETWORK,
#: 31 NETWORK_TIMEOUT, 704 TIMEOUT_EXCEEDED, 5000 INVALID_RESPONSE, 9999 SYSTEM.
OK_RETRYABLE_CODES = frozenset({1, 2, 30, 31, 704, 5000, 9999})
#: The token rests for the given seconds: 7 ACTION_BLOCKED, 8 FLOOD_BLOCKED, 9 IP_BLOCKED,
#: 11 LIMIT_REACHED, 26 TOTAL_LIMIT_REACHED.
OK_RATE_CODES: dict[int, float] = {7: 600.0, 8: 60.0, 9: 3600.0, 11: 3600.0, 26: 3600.0}
#: The token (or the application) is unusable until an operator acts: 10 PERMISSION_DENIED,
#: 101 PARAM_API_KEY, 102 PARAM_SESSION_EXPIRED, 103 PARAM_SESSION_KEY, 104 PARAM_SIGNATURE,
#: 105 PARAM_RESIGNATURE, 200 PARAM_PERMISSION, 210 PARAM_APPLICATION_DISABLED,
#: 401 AUTH_LOGIN, 402/403 captcha and human check, 453 SESSION_REQUIRED, 900 NO_SUCH_APP.
OK_AUTH_CODES = frozenset({10, 101, 102, 103, 104, 105, 200, 210, 401, 402, 403, 453, 900})
#: The group (or the post's comments) cannot be read: the source is marked unavailable.
OK_UNAVAILABLE_CODES: dict[int, str] = {
    160: "no_such_group",
    300: "not_found",
    455: "friend_restriction",
    456: "group_restriction",
    457: "unauthorized_restriction",
    458: "private",
    511: "blocked",
}


def _text(code: int, message: str) -> str:
    return f"OK error {code}: {message}"


class OkApiError(VkApiError):
    """OK answered ``{"error_code": ..., "error_msg": ...}`` (no specific kind)."""

    def __init__(self, code: int, message: str, *, method: str | None = None) -> None:
        VkError.__init__(self, _text(code, message), method=method)
        self.code = code
        self.error_msg = message


class OkServerError(OkApiError, VkServerError):
    """OK failed internally or timed out (codes 1, 2, 30, 31, 704, 5000, 9999): retried."""

    retryable = True


class OkRateLimited(OkApiError, VkRateLimited):
    """OK throttles the token (codes 7, 8, 9, 11, 26): it rests for ``retry_after`` seconds."""

    def __init__(
        self, code: int, message: str, *, retry_after: float, method: str | None = None
    ) -> None:
        OkApiError.__init__(self, code, message, method=method)
        self.retry_after = retry_after
        self.retryable = False

    @property
    def quota_exhausted(self) -> bool:
        """Return True for the daily limits (11, 26)."""
        return self.code in (11, 26)


class OkAuthError(OkApiError, VkAuthError):
    """The token, its signature or the application is refused: the token is disabled."""


class OkAccessDenied(OkApiError, VkAccessDenied):
    """The group cannot be read (codes 160, 300, 455-458, 511): the source is unavailable."""

    def __init__(self, code: int, message: str, *, method: str | None = None) -> None:
        OkApiError.__init__(self, code, message, method=method)
        self.reason = OK_UNAVAILABLE_CODES.get(code, "denied")


class OkConnectionError(VkConnectionError):
    """OK could not be reached or answered garbage (network error, timeout, 5xx, bad JSON)."""


def ok_error_for_code(code: int, message: str, *, method: str | None = None) -> OkApiError:
    """Return the exception for an OK ``error_code``.

    Args:
        code: OK's ``error_code``.
        message: OK's ``error_msg`` (``"NAME : detail"``).
        method: the method that failed.

    Returns:
        The most specific :class:`OkApiError` subclass for the code.
    """
    if code in OK_RETRYABLE_CODES:
        return OkServerError(code, message, method=method)
    if code in OK_RATE_CODES:
        return OkRateLimited(code, message, retry_after=OK_RATE_CODES[code], method=method)
    if code in OK_AUTH_CODES:
        return OkAuthError(code, message, method=method)
    if code in OK_UNAVAILABLE_CODES:
        return OkAccessDenied(code, message, method=method)
    return OkApiError(code, message, method=method)
