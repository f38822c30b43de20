"""Resolve what an administrator types (a VK link, screen name or id) to a community."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

import requests
import vk_api
from vk_api.exceptions import ApiError, ApiHttpError, VkApiError

from collector.errors import VkConnectionError, VkError, error_for_code
from collector.types import VkGroup, parse_group
from collector.vk_client import DEFAULT_GROUP_FIELDS, Backoff

__all__ = ["parse_group_ref", "resolve_group"]

log = logging.getLogger(__name__)

_LINK = re.compile(
    r"^(?:https?://)?(?:www\.|m\.)?vk\.(?:com|ru)/(?P<name>[A-Za-z0-9_.]+)/?(?:[?#].*)?$"
)
_NUMBERED = re.compile(r"^(?:club|public|event)(?P<id>\d+)$")
_NAME = re.compile(r"^[A-Za-z0-9_.]{2,64}$")
VK_API_LIBRARY_URL = "https://api.vk.ru/method/"


def parse_group_ref(ref: str) -> str:
    """Return what to ask ``groups.getById`` for: a positive id or a screen name.

    Accepts ``https://vk.com/kirov_online``, ``vk.ru/club123``, ``kirov_online``, ``@kirov``,
    ``club123``, ``public123``, ``123`` and ``-123``.

    Raises:
        ValueError: the text is none of these.
    """
    text = ref.strip()
    match = _LINK.match(text)
    name = match.group("name") if match else text.lstrip("@")
    if re.fullmatch(r"-?\d+", name):
        return str(abs(int(name)))
    numbered = _NUMBERED.match(name)
    if numbered:
        return numbered.group("id")
    if _NAME.match(name):
        return name
    raise ValueError(f"not a VK community link, screen name or id: {ref!r}")


class _RebasedSession(requests.Session):
    """A requests session sending vk_api's fixed ``api.vk.ru`` URL to the configured API."""

    def __init__(self, api_url: str, timeout: float) -> None:
        super().__init__()
        self._base = api_url.rstrip("/") + "/"
        self._timeout = timeout

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Send the request to the configured API, with a timeout."""
        target = str(url)
        if target.startswith(VK_API_LIBRARY_URL):
            target = self._base + target[len(VK_API_LIBRARY_URL) :]
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, target, *args, **kwargs)


def resolve_group(
    ref: str,
    *,
    token: str,
    api_url: str,
    api_version: str = "5.199",
    timeout: float = 10.0,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> VkGroup:
    """Look a community up with the ``vk_api`` library (synchronous: for the command line).

    Transient failures (errors 1, 6 and 10, HTTP 5xx, a malformed body, a reset or timed-out
    connection) are retried with jittered exponential backoff, up to ``backoff.attempts``
    tries in all.

    Args:
        ref: a link, screen name or id as the administrator typed it.
        token: any VK token (``groups.getById`` accepts every kind).
        api_url: the configured API base URL.
        api_version: the ``v`` parameter (vk_api's own default is an old 5.92).
        timeout: seconds per HTTP request.
        backoff: the retry policy (4 attempts from 0.5 s by default).
        sleep: what waits between attempts.

    Returns:
        The community.

    Raises:
        ValueError: ``ref`` is not a link, screen name or id.
        VkError: VK refused (unknown community: 100 or 104), or could not be reached even
            after the retries.
    """
    wanted = parse_group_ref(ref)
    policy = backoff or Backoff()
    attempt = 0
    while True:
        try:
            response = _get_by_id(wanted, token, api_url, api_version, timeout)
        except VkError as err:
            if not err.retryable or attempt + 1 >= policy.attempts:
                raise
            delay = policy.delay(attempt)
            attempt += 1
            log.info("groups.getById failed (%s); retry %d in %.1f s", err, attempt, delay)
            sleep(delay)
            continue
        break
    items = response.get("groups", []) if isinstance(response, dict) else response
    if not isinstance(items, list) or not items:
        raise error_for_code(100, f"no community {ref!r}", method="groups.getById")
    return parse_group(items[0])


def _get_by_id(wanted: str, token: str, api_url: str, api_version: str, timeout: float) -> Any:
    """Make one ``groups.getById`` call; every failure is a ``VkError``."""
    session = _RebasedSession(api_url, timeout)
    try:
        api = vk_api.VkApi(token=token, api_version=api_version, session=session)
        return api.method(
            "groups.getById", {"group_ids": wanted, "fields": ",".join(DEFAULT_GROUP_FIELDS)}
        )
    except ApiError as err:
        message = str(err.error.get("error_msg", "")).replace(token, "***")
        raise error_for_code(int(err.code), message, method="groups.getById") from err
    except ApiHttpError as err:
        status = getattr(err.response, "status_code", None)
        raise VkConnectionError(f"groups.getById: HTTP {status}", method="groups.getById") from err
    except (requests.RequestException, ValueError) as err:
        raise VkConnectionError(
            f"groups.getById: {type(err).__name__}", method="groups.getById"
        ) from err
    except VkApiError as err:
        raise VkError(f"groups.getById: {type(err).__name__}", method="groups.getById") from err
    finally:
        session.close()
