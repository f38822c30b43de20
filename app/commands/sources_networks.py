"""``sources add`` for OK groups, Telegram channels and replay files (VK stays in sources_cmd)."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from app.errors import CliError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from app.config import Config

__all__ = [
    "Resolved",
    "import_other_sources",
    "network_of",
    "resolve_file",
    "resolve_ok",
    "resolve_telegram",
]

#: The longest replay path a source can keep (its external id).
MAX_PATH = 128
OK_HOSTS = frozenset({"ok.ru", "www.ok.ru", "m.ok.ru", "odnoklassniki.ru", "www.odnoklassniki.ru"})
TELEGRAM_HOSTS = frozenset({"t.me", "www.t.me", "telegram.me", "www.telegram.me"})


@dataclass(frozen=True, slots=True)
class Resolved:
    """A source as it is stored: its external id, screen name, title and public address."""

    external_id: str
    screen_name: str
    title: str
    url: str
    note: str = ""


def _parts(ref: str) -> tuple[str, list[str]]:
    text = ref.strip()
    parts = urlsplit(text if "//" in text else "//" + text)
    return parts.netloc.lower(), [s for s in parts.path.split("/") if s]


def network_of(ref: str) -> Literal["vk", "ok", "telegram", "file"]:
    """Tell which network a ``sources add`` reference names (VK unless it is plainly another)."""
    if ref.startswith("file:"):
        return "file"
    host, _ = _parts(ref)
    if host in OK_HOSTS:
        return "ok"
    if host in TELEGRAM_HOSTS:
        return "telegram"
    return "vk"


def resolve_file(ref: str) -> Resolved:
    """Check a ``file:PATH`` replay source; the external id is the absolute path."""
    path = Path(ref.removeprefix("file:")).expanduser()
    if not path.is_file():
        raise CliError(f"{ref}: no such file")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as err:
        raise CliError(f"{ref}: cannot be read ({err.strerror})") from err
    absolute = path.resolve()
    if len(str(absolute)) > MAX_PATH:
        raise CliError(f"{ref}: the path is longer than {MAX_PATH} characters; use a shorter one")
    return Resolved(str(absolute), absolute.name, f"Файл {absolute.name}", f"file:{absolute}")


def telegram_channel(ref: str) -> str:
    """Return the channel username of ``https://t.me/<channel>`` or ``t.me/s/<channel>``."""
    _, segments = _parts(ref)
    if segments and segments[0] == "s":
        segments = segments[1:]
    name = segments[0].removeprefix("@") if segments else ""
    if not name or not all(c.isalnum() or c == "_" for c in name) or name.startswith("+"):
        raise CliError(f"{ref!r} is not a public channel link such as https://t.me/channel")
    return name


def resolve_telegram(ref: str, config: Config) -> Resolved:
    """Read the channel's preview once: its canonical username and title."""
    from collector.errors import VkError
    from collector.telegram_client import TelegramClient

    name = telegram_channel(ref)
    tg = config.networks.telegram

    async def fetch() -> tuple[str, str]:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            client = TelegramClient(
                session=http, base_url=str(tg.api_url), user_agent=tg.user_agent
            )
            page = await client.fetch(name)
        return page.channel or name, page.title or name

    try:
        channel, title = asyncio.run(fetch())
    except VkError as err:
        raise CliError(f"Telegram channel {name} cannot be read: {err}", exit_code=1) from err
    return Resolved(channel, channel, title, f"https://t.me/{channel}")


def resolve_ok(ref: str, config: Config) -> Resolved:
    """Resolve an ``https://ok.ru/group/<id or name>`` link with ``url.getInfo`` and describe it."""
    from app.collect_networks import ok_credentials
    from collector.errors import VkError
    from collector.ok_client import OkClient

    ok = config.networks.ok
    credentials = ok_credentials(config)
    if credentials is None:
        raise CliError(
            "OK is off or its credentials are missing (networks.ok.application_key, "
            "application_secret, access_token)",
            exit_code=1,
        )
    _, segments = _parts(ref)
    if not segments:
        raise CliError(f"{ref!r} is not an OK group link such as https://ok.ru/group/12345")
    url = ref if "//" in ref else f"https://{ref.strip()}"
    key, secret, token = credentials

    async def resolve() -> Resolved:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            client = OkClient(
                session=http,
                application_key=key,
                application_secret=secret,
                access_token=token,
                api_url=str(ok.api_url),
            )
            info = await client.url_get_info(url)
            if info.type.upper() not in ("GROUP", ""):
                raise CliError(f"{ref} is an OK {info.type.lower()}, not a group", exit_code=1)
            groups = await client.group_get_info(info.object_id)
        if not groups:
            raise CliError(f"OK group {info.object_id} is not found", exit_code=1)
        group = groups[0]
        note = "" if group.access_type == "OPEN" else f" ({group.access_type.lower()})"
        return Resolved(group.uid, group.shortname or group.uid, group.name, group.url, note)

    try:
        return asyncio.run(resolve())
    except VkError as err:
        raise CliError(f"OK could not resolve {ref!r}: {err}", exit_code=1) from err


def import_other_sources(config: Config, sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    """Add the enabled OK and Telegram entries of ``sources:`` not stored yet.

    Returns:
        How many were added, already present, and could not be resolved (each named on
        stderr).
    """
    from storage.enums import Network
    from storage.repositories.sources import SourceRepository

    added = present = failed = 0
    for source in config.sources:
        if source.network not in ("ok", "telegram") or not source.enabled:
            continue
        network = Network(source.network)
        if network is Network.OK:
            ref = f"https://ok.ru/group/{source.group}"
        else:
            ref = f"https://t.me/{source.group}"
        try:
            resolved = (
                resolve_ok(ref, config) if network is Network.OK else resolve_telegram(ref, config)
            )
        except CliError as err:
            print(f"{source.group}: not added: {err}", file=sys.stderr)
            failed += 1
            continue
        interval = source.poll_interval or 300
        if network is Network.TELEGRAM:
            interval = max(interval, config.networks.telegram.page_interval)
        with sessions.begin() as s:
            repo = SourceRepository(s)
            if repo.find(network, resolved.external_id) is not None:
                present += 1
                continue
            municipality = source.municipality
            repo.add(
                network,
                resolved.external_id,
                screen_name=resolved.screen_name,
                title=source.name or resolved.title,
                municipality=municipality.name if municipality else None,
                municipality_oktmo=municipality.oktmo if municipality else None,
                poll_interval_seconds=interval,
            )
            added += 1
    return added, present, failed
