"""Errors the web faces: each carries its HTTP status; one middleware renders them (web/app.py).

The services app/ hands to the web application raise these, so that a handler never has to
translate workflow or storage exceptions itself.
"""

from __future__ import annotations

__all__ = [
    "AppError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "InvalidAction",
    "NotFound",
    "TooManyRequests",
    "Unauthorized",
]


class AppError(Exception):
    """A request that cannot be served; ``status`` is its HTTP status, ``title`` its heading."""

    status = 500
    title = "Внутренняя ошибка"

    def __init__(self, detail: str = "", *, field: str | None = None) -> None:
        """Describe the problem in one line (shown to the user); ``field`` names bad input."""
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.field = field


class BadRequest(AppError):
    """The request's input is malformed or incomplete."""

    status = 400
    title = "Неверный запрос"


class Unauthorized(AppError):
    """Nobody is signed in (or the session or token no longer works)."""

    status = 401
    title = "Нужно войти"


class Forbidden(AppError):
    """The signed-in user may not do this (or the form lacks its CSRF token)."""

    status = 403
    title = "Нет прав"


class NotFound(AppError):
    """No such thing, or it is outside the viewer's scope (told apart from nothing)."""

    status = 404
    title = "Не найдено"


class Conflict(AppError):
    """The incident changed since the page was loaded: reload and decide again."""

    status = 409
    title = "Изменено другим пользователем"


class InvalidAction(AppError):
    """The action is not possible in the incident's current state, or lacks what it needs."""

    status = 422
    title = "Действие невозможно"


class TooManyRequests(AppError):
    """Too many failed logins: try again after ``retry_after`` seconds."""

    status = 429
    title = "Слишком много попыток"

    def __init__(self, detail: str = "", *, retry_after: int) -> None:
        """Say when to try again."""
        super().__init__(detail)
        self.retry_after = retry_after
