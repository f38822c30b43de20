"""VK API error codes, their canonical messages and the exception that carries them."""

from __future__ import annotations

from typing import Any

#: Canonical ``error_msg`` per code (VKCOM/vk-api-schema errors.json wording, with the suffixes
#: real responses carry where social-apis.md quotes one).
ERROR_MESSAGES: dict[int, str] = {
    1: "Unknown error occurred",
    3: "Unknown method passed",
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    7: "Permission to perform this action is denied",
    8: "Invalid request",
    9: "Flood control",
    10: "Internal server error",
    12: "Unable to compile code",
    13: "Runtime error occurred during code invocation",
    14: "Captcha needed",
    15: "Access denied",
    17: "Validation required: please open redirect_uri in browser",
    18: "User was deleted or banned",
    19: "Content blocked",
    27: "Group authorization failed: method is unavailable with group auth.",
    28: "Application authorization failed: method is unavailable with service token.",
    29: "Rate limit reached",
    30: "This profile is private",
    100: "One of the parameters specified was missing or invalid",
    104: "Not found",
    113: "Invalid user id",
    125: "Invalid group id",
    200: "Access denied",
    203: "Access to group denied",
    210: "Access to wall's post denied",
    211: "Access to wall's comment denied",
    212: "Access to post comments denied",
    213: "Access to status replies denied",
    222: "Hyperlinks are forbidden",
    223: "Too many replies",
}

#: Codes the emulator knows a message for; any other code is still accepted by fault injection.
KNOWN_CODES = frozenset(ERROR_MESSAGES)


def message_for(code: int) -> str:
    """Return the canonical message of an error code (a generic one for unknown codes)."""
    return ERROR_MESSAGES.get(code, f"Unknown error {code}")


class VkApiError(Exception):
    """An API-level error: rendered as ``{"error": {...}}`` or as an ``execute_errors`` entry."""

    def __init__(self, code: int, message: str | None = None, **extra: Any) -> None:
        self.code = code
        self.message = message if message is not None else message_for(code)
        self.extra: dict[str, Any] = dict(extra)
        super().__init__(f"[{code}] {self.message}")


def bad_param(detail: str) -> VkApiError:
    """Return error 100 with VK's ``<canonical>: <detail>`` wording."""
    return VkApiError(100, f"{ERROR_MESSAGES[100]}: {detail}")


def captcha_error(sid: str) -> VkApiError:
    """Return error 14 with the ``captcha_sid``/``captcha_img`` members VK sends."""
    return VkApiError(
        14,
        captcha_sid=sid,
        captcha_img=f"https://api.vk.com/captcha.php?sid={sid}&s=1",
    )
