"""The VK client's exception tree: every failure of a VK call is one of these."""

from __future__ import annotations

__all__ = [
    "ACCESS_DENIED_CODES",
    "AUTH_CODES",
    "RETRYABLE_CODES",
    "VkAccessDenied",
    "VkApiError",
    "VkAuthError",
    "VkCaptchaNeeded",
    "VkConnectionError",
    "VkError",
    "VkFloodControl",
    "VkRateLimited",
    "VkServerError",
    "error_for_code",
]

#: Codes meaning the token itself is unusable (social-apis.md A4): 5 user authorization failed,
#: 27 group authorization failed (wrong token kind), 28 application authorization failed.
AUTH_CODES = frozenset({5, 27, 28})
#: Codes meaning the wall or its comments cannot be read: the source is marked unavailable.
ACCESS_DENIED_CODES = frozenset({15, 18, 19, 30, 203, 212})
#: Codes worth retrying with backoff: 1 unknown error, 6 too many requests, 10 internal error.
RETRYABLE_CODES = frozenset({1, 6, 10})

#: Short rest after error 6, seconds (vk_api sleeps 0.5 s; social-apis.md A3 says 0.4-1 s).
TOO_MANY_REQUESTS_RETRY_AFTER = 1.0


class VkError(Exception):
    """Any failure of a VK API call. Messages never contain a token."""

    retryable: bool = False

    def __init__(self, message: str, *, method: str | None = None) -> None:
        super().__init__(message)
        self.method = method


class VkConnectionError(VkError):
    """The API could not be reached or answered garbage: network error, timeout, 5xx, bad JSON."""

    retryable = True


class VkApiError(VkError):
    """The API answered with ``{"error": {...}}`` (or an ``execute_errors`` entry)."""

    def __init__(self, code: int, message: str, *, method: str | None = None) -> None:
        super().__init__(f"VK error {code}: {message}", method=method)
        self.code = code
        self.error_msg = message


class VkRateLimited(VkApiError):
    """Error 6 (too many requests per second) or 29 (the method's daily quota is spent).

    ``retry_after`` is the number of seconds to wait: about a second for 6, and until the quota
    resets for 29 (filled in by the client from its quota tracker).
    """

    def __init__(
        self, code: int, message: str, *, retry_after: float, method: str | None = None
    ) -> None:
        super().__init__(code, message, method=method)
        self.retry_after = retry_after
        self.retryable = code == 6

    @property
    def quota_exhausted(self) -> bool:
        """Return True for error 29: the token's daily quota of this method is spent."""
        return self.code == 29


class VkAuthError(VkApiError):
    """Errors 5, 27, 28: the token is invalid, revoked or of the wrong kind for the method."""


class VkAccessDenied(VkApiError):
    """Errors 15, 18, 19, 30, 203, 212: the wall (or its comments) cannot be read.

    ``reason`` is a short machine word (``closed``, ``deleted``, ``blocked``, ``private``,
    ``group_denied``, ``comments_closed``) and ``error_msg`` keeps VK's own explanation.
    """

    REASONS: dict[int, str] = {  # noqa: RUF012
        15: "closed",
        18: "deleted",
        19: "blocked",
        30: "private",
        203: "group_denied",
        212: "comments_closed",
    }

    def __init__(self, code: int, message: str, *, method: str | None = None) -> None:
        super().__init__(code, message, method=method)
        self.reason = self.REASONS.get(code, "denied")


class VkCaptchaNeeded(VkApiError):
    """Error 14: VK asks for a captcha; the token must rest and an operator be told."""

    def __init__(
        self, code: int, message: str, *, captcha_sid: str | None = None, method: str | None = None
    ) -> None:
        super().__init__(code, message, method=method)
        self.captcha_sid = captcha_sid


class VkFloodControl(VkApiError):
    """Error 9: too many identical write actions; back off for minutes."""


class VkServerError(VkApiError):
    """Errors 1 and 10: VK failed internally; retried with backoff."""

    retryable = True


def error_for_code(
    code: int,
    message: str,
    *,
    method: str | None = None,
    captcha_sid: str | None = None,
    quota_retry_after: float = 3600.0,
) -> VkApiError:
    """Return the exception for a VK error code.

    Args:
        code: VK's ``error_code``.
        message: VK's ``error_msg``.
        method: the method that failed.
        captcha_sid: the captcha id of error 14.
        quota_retry_after: seconds until the daily quota resets, used for error 29.

    Returns:
        The most specific ``VkApiError`` subclass for the code.
    """
    if code == 6:
        return VkRateLimited(
            code, message, retry_after=TOO_MANY_REQUESTS_RETRY_AFTER, method=method
        )
    if code == 29:
        return VkRateLimited(code, message, retry_after=quota_retry_after, method=method)
    if code in AUTH_CODES:
        return VkAuthError(code, message, method=method)
    if code in ACCESS_DENIED_CODES:
        return VkAccessDenied(code, message, method=method)
    if code == 14:
        return VkCaptchaNeeded(code, message, captcha_sid=captcha_sid, method=method)
    if code == 9:
        return VkFloodControl(code, message, method=method)
    if code in (1, 10):
        return VkServerError(code, message, method=method)
    return VkApiError(code, message, method=method)
