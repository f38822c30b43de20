"""The real delivery channels: e-mail over SMTP (aiosmtplib) and a JSON webhook (aiohttp)."""

from __future__ import annotations

import hashlib
import json
from email.message import EmailMessage
from email.utils import formatdate

import aiohttp
import aiosmtplib
from yarl import URL

from app.config import SmtpConfig
from app.notify import DeliveryError, Destination
from storage.repositories.outbox import OutboxItem

__all__ = ["SmtpChannel", "TelegramChannel", "WebhookChannel", "message_id"]


def message_id(key: str, sender: str) -> str:
    """Return the e-mail Message-ID of a notification: the same key always gets the same one.

    A notification sent again after a crash (see docs/administration.md) carries the same id,
    so mail clients and list servers can show it once.
    """
    domain = sender.rsplit("@", 1)[-1]
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


class SmtpChannel:
    """Sends a notification as one plain-text e-mail to every address of its recipient."""

    name = "email"

    def __init__(self, config: SmtpConfig) -> None:
        """Send through the configured server (``config.host`` must be set)."""
        if config.host is None:
            raise ValueError("notifications.smtp.host is not set")
        self._config = config
        self._host = config.host

    def _message(self, item: OutboxItem, to: tuple[str, ...]) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._config.from_address
        message["To"] = ", ".join(to)
        message["Subject"] = item.subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = message_id(item.key, self._config.from_address)
        message.set_content(item.body)
        return message

    async def deliver(self, item: OutboxItem, destination: Destination) -> None:
        """Send the e-mail; refused recipients are permanent, connection problems are not."""
        if not destination.emails:
            raise DeliveryError("no e-mail address configured", permanent=True)
        config = self._config
        password = config.password.get_secret_value() if config.password is not None else None
        try:
            await aiosmtplib.send(
                self._message(item, destination.emails),
                hostname=self._host,
                port=config.port,
                username=config.username,
                password=password,
                use_tls=config.security == "tls",
                start_tls=config.security == "starttls",
                timeout=config.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as err:
            raise DeliveryError(f"SMTP refused the recipients: {err}", permanent=True) from err
        except aiosmtplib.SMTPResponseException as err:
            permanent = 500 <= err.code < 600
            raise DeliveryError(f"SMTP {err.code}: {err.message}", permanent=permanent) from err
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as err:
            raise DeliveryError(
                f"SMTP {self._host}:{config.port} unreachable: {type(err).__name__}: {err}"
            ) from err


class WebhookChannel:
    """POSTs a notification as JSON; the ``Idempotency-Key`` header carries its key."""

    name = "webhook"

    def __init__(self, session: aiohttp.ClientSession, *, timeout: float = 10) -> None:
        """POST through ``session`` with a total ``timeout`` per request."""
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def deliver(self, item: OutboxItem, destination: Destination) -> None:
        """POST the notification; 4xx (but 408, 429) are permanent, the rest is retried."""
        if destination.webhook is None:
            raise DeliveryError("no webhook configured", permanent=True)
        body = {
            "key": item.key,
            "event": item.event,
            "recipient": item.recipient,
            "incident_id": item.incident_id,
            "subject": item.subject,
            "text": item.body,
            **item.payload,
        }
        try:
            async with self._session.post(
                destination.webhook,
                data=json.dumps(body, ensure_ascii=False),
                headers={"Content-Type": "application/json", "Idempotency-Key": item.key},
                timeout=self._timeout,
            ) as response:
                if response.status < 300:
                    return
                permanent = 400 <= response.status < 500 and response.status not in (408, 429)
                # The URL may hold a token: name only its host.
                raise DeliveryError(
                    f"webhook {response.url.host} answered HTTP {response.status}",
                    permanent=permanent,
                    retry_after=_seconds(response.headers.get("Retry-After")),
                )
        except (aiohttp.ClientError, TimeoutError) as err:
            host = URL(destination.webhook).host
            raise DeliveryError(f"webhook {host} unreachable: {type(err).__name__}") from err


class TelegramChannel:
    """Sends a notification as a Telegram message through the bot (Bot API ``sendMessage``)."""

    name = "telegram"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        token: str,
        api_url: str = "https://api.telegram.org",
        timeout: float = 10,
    ) -> None:
        """Post through ``session`` as the bot with ``token`` (never written to a message)."""
        self._session = session
        self._url = f"{api_url.rstrip('/')}/bot{token}/sendMessage"
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def deliver(self, item: OutboxItem, destination: Destination) -> None:
        """Send the text; Telegram's 400/403 (unknown chat, bot blocked) are permanent."""
        if destination.telegram_chat is None:
            raise DeliveryError("no Telegram chat configured", permanent=True)
        try:
            async with self._session.post(
                self._url,
                json={
                    "chat_id": destination.telegram_chat,
                    "text": f"{item.subject}\n\n{item.body}"[:4096],
                    "disable_web_page_preview": True,
                },
                timeout=self._timeout,
            ) as response:
                if response.status < 300:
                    return
                try:
                    answer = await response.json(content_type=None)
                except (ValueError, aiohttp.ContentTypeError):
                    answer = None
                # A proxy's 502 may carry no body at all (json() gives None) or a bare JSON value.
                found = answer.get("description", "") if isinstance(answer, dict) else ""
                description = str(found)[:200]
                parameters = answer.get("parameters") if isinstance(answer, dict) else None
                wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
                raise DeliveryError(
                    f"Telegram Bot API answered HTTP {response.status}: {description}".rstrip(": "),
                    permanent=response.status in (400, 401, 403, 404),
                    retry_after=_seconds(
                        wait if wait is not None else response.headers.get("Retry-After")
                    ),
                )
        except (aiohttp.ClientError, TimeoutError) as err:
            # The URL holds the bot token: name the error only.
            raise DeliveryError(f"Telegram Bot API unreachable: {type(err).__name__}") from err


#: A server asking for more than a day is not taken at its word (the usual backoff then caps it).
_MAX_RETRY_AFTER = 86_400.0


def _seconds(value: object) -> float | None:
    """Read a retry delay in seconds (a number, or Retry-After's digits); None if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = float(value.strip())
    else:
        return None  # absent, an HTTP date, or junk: the usual backoff decides
    return seconds if 0 < seconds <= _MAX_RETRY_AFTER else None
