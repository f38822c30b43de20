"""``demo``: the embedded service against the emulator's synthetic region (VK, OK, Telegram),
without any token."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from app.commands._common import add_command
from app.errors import CliError
from app.logs import configure_service_logging

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from app.commands._common import Subparsers
    from app.commands.demo_actor import DemoActor
    from app.config import Config
    from app.runtime import Service
    from classifier.regions import Municipality, Region

log = logging.getLogger(__name__)

#: The emulator's fixed demo tokens (docs/emulator.md): not secrets.
DEMO_TOKENS: tuple[tuple[str, Literal["service", "community"], str], ...] = (
    ("demo-service-1", "service", "vk-demo-service-1"),
    ("demo-service-2", "service", "vk-demo-service-2"),
    ("demo-service-3", "service", "vk-demo-service-3"),
    ("demo-community", "community", "vk-demo-community"),
)
#: The emulator's fixed OK application and token (docs/emulator.md): not secrets.
DEMO_OK_APP_KEY = "CBADEMOAPPKEY"
DEMO_OK_APP_SECRET = "ok-demo-application-secret"  # noqa: S105 - a demo value
DEMO_OK_ACCESS_TOKEN = "ok-demo-access-token"  # noqa: S105 - a demo value
#: The emulator's OK answers as fast as allowed (the real default is 1 a second).
DEMO_OK_REQUESTS_PER_SECOND = 5.0
#: Seconds between two preview pages of a demo channel (the real default is 60).
DEMO_TELEGRAM_PAGE_INTERVAL = 10
DEFAULT_DATA_DIR = Path("var/demo")


def register(subparsers: Subparsers) -> None:
    """Add the ``demo`` command."""
    parser = add_command(
        subparsers,
        "demo",
        help="run the service against the VK emulator's synthetic region (no token needed)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address of the web app")
    parser.add_argument("--port", type=int, default=8080, help="web port (0 picks a free one)")
    parser.add_argument(
        "--emulator-port", type=int, default=0, help="emulator port (default: a free one)"
    )
    parser.add_argument("--seed", type=int, default=1, help="synthetic region seed (default 1)")
    parser.add_argument("--groups", type=int, default=30, help="communities (default 30)")
    parser.add_argument(
        "--activity-speed",
        type=float,
        default=120.0,
        help="how much faster than real life the communities post (default 120)",
    )
    parser.add_argument(
        "--interval", type=int, default=5, help="seconds between collect and process runs"
    )
    parser.add_argument(
        "--auto-route-min-confidence",
        type=float,
        default=0.5,
        metavar="P",
        help="route automatically from this confidence (default 0.5 in the demo: the model is "
        "unsure of the emulator's template texts; config.yaml keeps its own threshold)",
    )
    parser.add_argument(
        "--no-actor",
        dest="actor",
        action="store_false",
        help="do not play the executors, the operator and the citizens (the demo actor)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="where the demo database and the emulator's log go (wiped at start)",
    )
    parser.set_defaults(handler=run)


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def emulator_command(
    *,
    port: int,
    seed: int,
    groups: int,
    activity_speed: float,
    host: str = "127.0.0.1",
    ok_groups: int | None = None,
    telegram_channels: int | None = None,
) -> list[str]:
    """Return the ``python -m emulator`` command line (app never imports the emulator)."""
    extra = []
    if ok_groups is not None:
        extra += ["--ok-groups", str(ok_groups)]
    if telegram_channels is not None:
        extra += ["--telegram-channels", str(telegram_channels)]
    return [
        sys.executable,
        "-m",
        "emulator",
        "--host",
        host,
        "--port",
        str(port),
        "--seed",
        str(seed),
        "--groups",
        str(groups),
        "--activity-speed",
        str(activity_speed),
        *extra,
    ]


@dataclass
class EmulatorProcess:
    """A running emulator child process and where it answers."""

    process: subprocess.Popen[bytes]
    base_url: str  # http://127.0.0.1:<port>

    @property
    def api_url(self) -> str:
        """Return the VK API base URL the collector uses."""
        return f"{self.base_url}/method"

    @property
    def ok_api_url(self) -> str:
        """Return the OK ``fb.do`` address the collector uses."""
        return f"{self.base_url}/fb.do"

    def admin(self, path: str = "") -> Any:
        """GET an admin endpoint and return its JSON."""
        with urllib.request.urlopen(f"{self.base_url}/_emulator/{path}", timeout=5) as answer:  # noqa: S310 - our own loopback URL
            return json.loads(answer.read().decode("utf-8"))

    def stop(self) -> None:
        """Terminate the emulator (kill it if it does not stop within 5 s)."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@contextlib.contextmanager
def running_emulator(
    *,
    port: int = 0,
    seed: int = 1,
    groups: int = 30,
    activity_speed: float = 120.0,
    log_file: IO[bytes] | None = None,
    timeout: float = 30.0,
    ok_groups: int | None = None,
    telegram_channels: int | None = None,
) -> Iterator[EmulatorProcess]:
    """Start ``python -m emulator`` on a free port, wait until it answers, stop it on exit."""
    port = port or free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        emulator_command(
            port=port,
            seed=seed,
            groups=groups,
            activity_speed=activity_speed,
            ok_groups=ok_groups,
            telegram_channels=telegram_channels,
        ),
        stdout=log_file if log_file is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    emulator = EmulatorProcess(process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise CliError(
                    f"the emulator exited at start (code {process.returncode})", exit_code=1
                )
            try:
                emulator.admin()
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise CliError(
                        f"the emulator did not answer within {timeout:.0f} s", exit_code=1
                    ) from None
                time.sleep(0.1)
        yield emulator
    finally:
        emulator.stop()


def demo_config(
    base: Config,
    *,
    api_url: str,
    database_url: str,
    interval: int = 5,
    auto_route_min_confidence: float | None = None,
    ok_api_url: str | None = None,
    telegram_url: str | None = None,
) -> Config:
    """Return ``base`` with VK on, pointed at the emulator with its demo tokens, short intervals.

    With ``ok_api_url`` (``telegram_url``) OK (Telegram) is on too, against the emulator with
    its demo application (5 requests a second; a page every 10 s per channel); without, it is off.
    ``auto_route_min_confidence`` replaces the jurisdiction's threshold when given.
    """
    from pydantic import SecretStr

    from app.config import DatabaseConfig, VkToken

    tokens = tuple(
        VkToken.model_construct(name=name, kind=kind, token=SecretStr(value))
        for name, kind, value in DEMO_TOKENS
    )
    vk = base.networks.vk.model_copy(update={"enabled": True, "api_url": api_url, "tokens": tokens})
    ok = base.networks.ok.model_copy(update={"enabled": False})
    if ok_api_url is not None:
        ok = base.networks.ok.model_copy(
            update={
                "enabled": True,
                "api_url": ok_api_url,
                "application_key": SecretStr(DEMO_OK_APP_KEY),
                "application_secret": SecretStr(DEMO_OK_APP_SECRET),
                "access_token": SecretStr(DEMO_OK_ACCESS_TOKEN),
                "requests_per_second": DEMO_OK_REQUESTS_PER_SECOND,
            }
        )
    telegram = base.networks.telegram.model_copy(update={"enabled": False})
    if telegram_url is not None:
        telegram = base.networks.telegram.model_copy(
            update={
                "enabled": True,
                "api_url": telegram_url,
                "page_interval": DEMO_TELEGRAM_PAGE_INTERVAL,
            }
        )
    networks = base.networks.model_copy(update={"vk": vk, "ok": ok, "telegram": telegram})
    scheduler = base.scheduler.model_copy(
        update={"collect_interval": interval, "classify_interval": interval}
    )
    # The citizens' replies under published answers are read as often as the rest.
    followup = base.followup.model_copy(update={"interval": interval})
    jurisdiction = base.jurisdiction
    if auto_route_min_confidence is not None:
        if not 0 <= auto_route_min_confidence <= 1:
            raise CliError("--auto-route-min-confidence must be within 0..1")
        jurisdiction = jurisdiction.model_copy(
            update={"auto_route_min_confidence": auto_route_min_confidence}
        )
    return base.model_copy(
        update={
            "jurisdiction": jurisdiction,
            "networks": networks,
            "scheduler": scheduler,
            "followup": followup,
            "database": DatabaseConfig.model_construct(url=database_url),
            "sources": (),
        }
    )


_NAME_WORD = re.compile(r"[А-ЯЁ][а-яё]+(?:-[А-ЯЁа-яё]+)*")


def community_municipality(name: str, region: Region) -> Municipality | None:
    """Return the municipality a community's name points to ("Подслушано Киров" -> Киров)."""
    from classifier.regions import AmbiguousMunicipalityError

    words = _NAME_WORD.findall(name)
    refs = [" ".join(words[i : i + 2]) for i in range(len(words) - 1)] + words
    for ref in refs:
        try:
            found = region.find_municipality(ref)
        except AmbiguousMunicipalityError:
            continue
        if found is not None:
            return found
    return None


def add_emulator_sources(
    sessions: sessionmaker[Session], admin: Mapping[str, Any], region: Region | None = None
) -> int:
    """Add the emulator's readable communities (not the control centre's own) as VK sources.

    With ``region``, a community named after a town gets that municipality (the classifier's
    prior for messages that name no place).
    """
    from storage.enums import Network
    from storage.repositories.sources import SourceRepository

    official = admin.get("official_group_id")
    added = 0
    with sessions.begin() as session:
        repo = SourceRepository(session)
        for group in admin.get("groups", []):
            owner_id = str(-int(group["id"]))  # a community's wall: a negative owner id
            if group["id"] == official or group.get("state") in ("deleted", "banned"):
                continue
            if repo.find(Network.VK, owner_id) is not None:
                continue
            place = (
                community_municipality(group.get("name", ""), region)
                if region is not None
                else None
            )
            repo.add(
                Network.VK,
                owner_id,
                screen_name=group.get("screen_name"),
                title=group.get("name", ""),
                municipality=place.name if place is not None else None,
                municipality_oktmo=place.oktmo if place is not None else None,
                poll_interval_seconds=30,
            )
            added += 1
    return added


def add_emulator_network_sources(
    sessions: sessionmaker[Session],
    ok_admin: Mapping[str, Any],
    telegram_admin: Mapping[str, Any],
    region: Region | None = None,
    *,
    telegram_interval: int = DEMO_TELEGRAM_PAGE_INTERVAL,
) -> int:
    """Add the emulator's open OK groups and previewable Telegram channels as sources."""
    from storage.enums import Network
    from storage.repositories.sources import SourceRepository

    def place_of(name: str) -> Municipality | None:
        return community_municipality(name, region) if region is not None else None

    wanted: list[tuple[Network, str, str, str, int]] = [
        (Network.OK, str(g["uid"]), g.get("shortname") or str(g["uid"]), g.get("name", ""), 30)
        for g in ok_admin.get("groups", [])
        if g.get("state", "open") == "open"
    ]
    wanted += [
        (Network.TELEGRAM, c["username"], c["username"], c.get("title", ""), telegram_interval)
        for c in telegram_admin.get("channels", [])
        if c.get("preview", True)
    ]
    added = 0
    with sessions.begin() as session:
        repo = SourceRepository(session)
        for network, external_id, screen_name, title, interval in wanted:
            if repo.find(network, external_id) is not None:
                continue
            place = place_of(title)
            repo.add(
                network,
                external_id,
                screen_name=screen_name,
                title=title,
                municipality=place.name if place is not None else None,
                municipality_oktmo=place.oktmo if place is not None else None,
                poll_interval_seconds=interval,
            )
            added += 1
    return added


def prepare_database(
    config: Config,
    admin: Mapping[str, Any],
    ok_admin: Mapping[str, Any] | None = None,
    telegram_admin: Mapping[str, Any] | None = None,
) -> sessionmaker[Session]:
    """Migrate the demo database and add the emulator's communities (and, when given, its OK
    groups and Telegram channels); return its sessions."""
    from classifier.regions import load_region
    from storage.db import create_engine_for, make_sessionmaker
    from storage.migrate import upgrade

    upgrade(config.database.url)
    sessions = make_sessionmaker(create_engine_for(config.database.url, sqlite_begin="IMMEDIATE"))
    region = load_region(config.region.code)
    add_emulator_sources(sessions, admin, region)
    if ok_admin is not None or telegram_admin is not None:
        add_emulator_network_sources(sessions, ok_admin or {}, telegram_admin or {}, region)
    return sessions


def demo_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the environment config.yaml is read with: the demo tokens fill its references."""
    env = dict(environ)
    env.setdefault("VK_SERVICE_TOKEN", "vk-demo-service-1")
    env.setdefault("VK_COMMUNITY_TOKEN", "vk-demo-community")
    for name in ("IM_DATABASE_URL", "IM_VK_API_URL", "IM_OK_API_URL", "IM_TELEGRAM_URL"):
        env.pop(name, None)
    return env


def _is_demo_file(name: str) -> bool:
    """Tell whether a file in the data folder is one the demo itself writes."""
    return name.startswith("demo.db") or name in ("emulator.log", "session-secret")


def demo_logins(config: Config) -> tuple[Config, list[tuple[str, str, str]]]:
    """Give every configured user a password: its environment variable's, else a new one.

    Returns the configuration with the passwords and (login, role, password) to print, so a
    newcomer can sign in as operator, supervisor and an executor at once.
    """
    import secrets

    from pydantic import SecretStr

    users = []
    logins = []
    for user in config.users:
        password = user.password.get_secret_value() if user.password is not None else ""
        if not password:
            password = secrets.token_urlsafe(9)
        users.append(user.model_copy(update={"password": SecretStr(password)}))
        role = f"{user.role} {user.executor}" if user.executor else user.role
        logins.append((user.login, role, password))
    return config.model_copy(update={"users": tuple(users)}), logins


def demo_actor(service: Service, config: Config, emulator_url: str) -> DemoActor:
    """Return the demo actor over the running service (app/commands/demo_actor.py)."""
    from app.commands.demo_actor import DemoActor
    from app.runtime import utc_clock
    from classifier.regions import load_region

    return DemoActor(
        sessions=service.sessions,
        workflow=service.workflow,
        emulator_url=emulator_url,
        clock=utc_clock,
        region=load_region(config.region.code),
    )


def run(args: argparse.Namespace) -> int:
    """Start the emulator, prepare the demo database, then serve until interrupted."""
    from app.config import ConfigError, load_config
    from app.runtime import Listening, install_stop_signals, serve

    configure_service_logging()
    try:
        base = load_config(Path(args.config), demo_environment(os.environ))
    except ConfigError as err:
        raise CliError(str(err)) from err
    data_dir: Path = args.data_dir
    if data_dir.exists():
        unexpected = sorted(
            path.name for path in data_dir.iterdir() if not _is_demo_file(path.name)
        )
        if unexpected:
            raise CliError(
                f"--data-dir {data_dir} holds files the demo did not make "
                f"({', '.join(unexpected[:3])}); the demo wipes its folder at start, "
                "so choose an empty or demo-only folder"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    database_url = f"sqlite:///{(data_dir / 'demo.db').resolve()}"
    with (
        (data_dir / "emulator.log").open("wb") as emulator_log,
        running_emulator(
            port=args.emulator_port,
            seed=args.seed,
            groups=args.groups,
            activity_speed=args.activity_speed,
            log_file=emulator_log,
        ) as emulator,
    ):
        config = demo_config(
            base,
            api_url=emulator.api_url,
            database_url=database_url,
            interval=args.interval,
            auto_route_min_confidence=args.auto_route_min_confidence,
            ok_api_url=emulator.ok_api_url,
            telegram_url=emulator.base_url,
        )
        config, logins = demo_logins(config)
        admin = emulator.admin()
        ok_admin, telegram_admin = emulator.admin("ok"), emulator.admin("telegram")
        prepare_database(config, admin, ok_admin, telegram_admin)
        print(
            f"VK emulator at {emulator.api_url} with {len(admin.get('groups', [])) - 1} "
            f"communities, {len(ok_admin.get('groups', []))} OK groups and "
            f"{len(telegram_admin.get('channels', []))} Telegram channels; "
            f"demo database {database_url}",
            flush=True,
        )

        def announce(where: Listening) -> None:
            print(
                f"Demo of Incident Management ({config.region.name}) at {where.url}: new "
                f"posts are collected and processed every {args.interval} s (Ctrl+C to stop)",
                flush=True,
            )
            if args.actor:
                print(
                    "The demo actor plays the executors, the operator and the citizens: some "
                    "incidents get answered, approved, published and one reopened "
                    "(--no-actor to leave that to you)",
                    flush=True,
                )
            print(f"Sign in at {where.url}login as (passwords made for this run):", flush=True)
            for login, role, password in logins:
                print(f"  {login:<12} {password:<16} {role}", flush=True)

        async def main() -> None:
            stop = asyncio.Event()
            install_stop_signals(stop)
            actors: list[asyncio.Task[None]] = []

            def start_actor(service: Service) -> None:
                if args.actor:
                    actor = demo_actor(service, config, emulator.base_url)
                    actors.append(asyncio.create_task(actor.run(stop, args.interval)))

            try:
                await serve(
                    config,
                    host=args.host,
                    port=args.port,
                    stop=stop,
                    on_listening=announce,
                    on_started=start_actor,
                )
            finally:
                stop.set()
                for task in actors:
                    await task

        try:
            asyncio.run(main())
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                raise CliError(
                    f"cannot listen on {args.host}:{args.port}: {err.strerror}; choose --port"
                ) from err
            raise
    return 0
