"""``sources add`` and ``sources list``: the groups collected from, with their health."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import TYPE_CHECKING

from app.commands._common import add_command, load_config_or_fail
from app.errors import CliError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from app.commands._common import Subparsers
    from app.config import Config
    from storage.repositories.classifications import SourceBacklog
    from storage.repositories.sources import SourceRecord


def register(subparsers: Subparsers) -> None:
    """Add the ``sources`` command group."""
    parser = add_command(subparsers, "sources", help="add and list the groups collected from")
    actions = parser.add_subparsers(dest="sources_action", metavar="ACTION", required=True)
    add = add_command(
        actions,
        "add",
        help="add a VK community, an OK group, a Telegram channel or a replay file",
    )
    add.add_argument(
        "ref",
        help="https://vk.com/<name>, <name>, club<id>, <id> or -<id>; https://ok.ru/group/<id>; "
        "https://t.me/<channel> (or t.me/s/<channel>); file:PATH (JSON Lines)",
    )
    add.add_argument("--municipality", metavar="NAME", help="the municipality it covers")
    add.add_argument(
        "--interval", type=int, default=300, metavar="SECONDS", help="first polling interval"
    )
    add.set_defaults(handler=add_source)
    imported = add_command(
        actions,
        "import",
        help="add the VK, OK and Telegram sources listed under sources: in the config file",
    )
    imported.set_defaults(handler=import_sources)
    listing = add_command(actions, "list", help="list sources with interval, quota use and health")
    listing.add_argument("--json", action="store_true", help="one JSON object per source")
    listing.set_defaults(handler=list_sources)


def open_database(config: Config) -> sessionmaker[Session]:
    """Return a session factory on the configured database, refusing an unmigrated one."""
    from storage.db import create_engine_for, make_sessionmaker
    from storage.errors import StorageError
    from storage.migrate import current, head

    url = config.database.url
    try:
        revision = current(url)
    except StorageError as err:
        raise CliError(str(err), exit_code=1) from err
    if revision != head():
        raise CliError(
            f"the database schema is at {revision or 'nothing'}, not {head()}: "
            "run 'incident-management db upgrade' first",
            exit_code=1,
        )
    return make_sessionmaker(create_engine_for(url, sqlite_begin="IMMEDIATE"))


def read_token(config: Config) -> str:
    """Return a VK token able to read walls (service or user), or fail with one line."""
    for token in config.networks.vk.tokens:
        if token.kind in ("service", "user") and token.token is not None:
            value = token.token.get_secret_value()
            if value:
                return value
    raise CliError("no VK service or user token is configured (networks.vk.tokens)", exit_code=1)


def add_other_source(args: argparse.Namespace, config: Config, network_name: str) -> int:
    """Resolve an OK group, a Telegram channel or a replay file and store it as a source."""
    from app.commands.sources_networks import resolve_file, resolve_ok, resolve_telegram
    from storage.enums import Network
    from storage.repositories.sources import SourceExists, SourceRepository

    municipality = None
    if args.municipality:
        region = config.region.reference
        try:
            municipality = region.find_municipality(args.municipality)
        except LookupError as err:
            raise CliError(str(err)) from err
        if municipality is None:
            raise CliError(f"no municipality {args.municipality!r} in {region.name}")
    sessions = open_database(config)
    network = Network(network_name)
    if network is Network.FILE:
        resolved = resolve_file(args.ref)
    elif network is Network.OK:
        resolved = resolve_ok(args.ref, config)
    else:
        resolved = resolve_telegram(args.ref, config)
    interval = args.interval
    if network is Network.TELEGRAM:  # at most one page per channel per page_interval
        interval = max(interval, config.networks.telegram.page_interval)
    try:
        with sessions.begin() as s:
            record = SourceRepository(s).add(
                network,
                resolved.external_id,
                screen_name=resolved.screen_name,
                title=resolved.title,
                municipality=municipality.name if municipality else None,
                municipality_oktmo=municipality.oktmo if municipality else None,
                poll_interval_seconds=interval,
            )
    except SourceExists as err:
        raise CliError(str(err), exit_code=1) from err
    where = f", {municipality.name}" if municipality else ""
    print(
        f"added source {record.id}: {network.value} {resolved.url} «{resolved.title}» "
        f"({record.external_id}{where}){resolved.note}"
    )
    return 0


def add_source(args: argparse.Namespace) -> int:
    """Resolve the community (or group, channel, file) and store it as a source."""
    from app.commands.sources_networks import network_of
    from collector.errors import VkError
    from collector.resolve import resolve_group
    from storage.enums import Network
    from storage.repositories.sources import SourceExists, SourceRepository

    config = load_config_or_fail(args)
    if args.interval <= 0:
        raise CliError("--interval must be a positive number of seconds")
    network_name = network_of(args.ref)
    if network_name != "vk":
        return add_other_source(args, config, network_name)
    municipality = None
    if args.municipality:
        region = config.region.reference
        try:
            municipality = region.find_municipality(args.municipality)
        except LookupError as err:
            raise CliError(str(err)) from err
        if municipality is None:
            raise CliError(f"no municipality {args.municipality!r} in {region.name}")
    sessions = open_database(config)
    vk = config.networks.vk
    try:
        group = resolve_group(
            args.ref, token=read_token(config), api_url=vk.api_url, api_version=vk.api_version
        )
    except ValueError as err:
        raise CliError(str(err)) from err
    except VkError as err:
        raise CliError(f"VK could not resolve {args.ref!r}: {err}", exit_code=1) from err
    if group.deactivated:
        raise CliError(f"VK community {group.screen_name} is {group.deactivated}", exit_code=1)
    try:
        with sessions.begin() as s:
            record = SourceRepository(s).add(
                Network.VK,
                str(group.owner_id),
                screen_name=group.screen_name,
                title=group.name,
                municipality=municipality.name if municipality else None,
                municipality_oktmo=municipality.oktmo if municipality else None,
                poll_interval_seconds=args.interval,
            )
    except SourceExists as err:
        raise CliError(str(err), exit_code=1) from err
    closed = " (closed: its wall cannot be read)" if group.is_closed else ""
    where = f", {municipality.name}" if municipality else ""
    print(
        f"added source {record.id}: vk {group.url} «{group.name}» ({record.external_id}{where})"
        f"{closed}"
    )
    return 0


def import_sources(args: argparse.Namespace) -> int:
    """Resolve and add every enabled source of the configuration that is not stored yet."""
    from collector.errors import VkError
    from collector.resolve import resolve_group
    from storage.enums import Network
    from storage.repositories.sources import SourceRepository

    config = load_config_or_fail(args)
    sessions = open_database(config)
    vk = config.networks.vk
    wanted = [s for s in config.sources if s.network == "vk" and s.enabled]
    token = read_token(config) if wanted else ""
    added = present = failed = 0
    for source in wanted:
        try:
            group = resolve_group(
                source.group, token=token, api_url=vk.api_url, api_version=vk.api_version
            )
        except (ValueError, VkError) as err:
            print(f"{source.group}: not added: {err}", file=sys.stderr)
            failed += 1
            continue
        with sessions.begin() as s:
            repo = SourceRepository(s)
            if repo.find(Network.VK, str(group.owner_id)) is not None:
                present += 1
                continue
            municipality = source.municipality
            repo.add(
                Network.VK,
                str(group.owner_id),
                screen_name=group.screen_name,
                title=source.name or group.name,
                municipality=municipality.name if municipality else None,
                municipality_oktmo=municipality.oktmo if municipality else None,
                poll_interval_seconds=source.poll_interval or 300,
            )
            added += 1
    from app.commands.sources_networks import import_other_sources

    more = import_other_sources(config, sessions)  # the OK and Telegram entries
    added, present, failed = added + more[0], present + more[1], failed + more[2]
    print(f"{added} sources added, {present} already present, {failed} failed")
    return 1 if failed else 0


#: The published daily quota of wall.get per token (social-apis.md A3).
WALL_GET_QUOTA = 5000


def _age(now: dt.datetime, then: dt.datetime | None) -> str:
    if then is None:
        return "never"
    seconds = int((now - then).total_seconds())
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def _state(record: SourceRecord) -> str:
    health = record.health
    if not record.enabled:
        return "off"
    if health.disabled_reason:
        return f"disabled: {health.disabled_reason}"
    if health.consecutive_failures:
        return f"failing x{health.consecutive_failures}: {health.last_error}"
    if health.last_success_at is None:
        return "new"
    return "ok"


def _waiting(config: Config, sessions: sessionmaker[Session]) -> dict[int, SourceBacklog] | None:
    """Return each source's messages waiting for the current model (None: no model to ask)."""
    from app.commands.classify_cmd import resolve_model_dir
    from classifier.artifact import ModelArtifactError, default_artifact_dir, read_manifest
    from storage.repositories.classifications import ClassificationRepository

    directory = resolve_model_dir(None, config.classifier.model_dir) or default_artifact_dir()
    try:
        version = read_manifest(directory).version
    except ModelArtifactError:
        return None
    with sessions() as s:
        return ClassificationRepository(s).backlog(version)


def _waiting_fields(
    waiting: dict[int, SourceBacklog] | None, source_id: int, now: dt.datetime
) -> dict[str, int | None]:
    if waiting is None:
        return {}
    found = waiting.get(source_id)
    oldest = found.oldest_collected_at if found is not None else None
    return {
        "backlog_messages": found.messages if found is not None else 0,
        "backlog_oldest_age_seconds": round((now - oldest).total_seconds()) if oldest else None,
    }


def list_sources(args: argparse.Namespace) -> int:
    """Print every source with its interval, expected calls a day against the quota, lag, health.

    The intervals and calls a day are the quota planner's (``app.collect.plan_sources``, as the
    collect service plans them, from each source's remembered activity); ``every`` is the
    interval the last poll set.
    """
    from app.collect import plan_sources, pollable
    from collector.planner import QuotaPlanner
    from storage.enums import Network
    from storage.repositories.sources import SourceRepository

    config = load_config_or_fail(args)
    sessions = open_database(config)
    with sessions() as s:
        records = SourceRepository(s).all()
    now = dt.datetime.now(dt.UTC)
    waiting = _waiting(config, sessions)
    tokens = [t for t in config.networks.vk.tokens if t.token and t.token.get_secret_value()]
    kinds = {t.kind for t in tokens}
    # As the collect service does: walls on service tokens (user tokens when there are none),
    # the feed path on a user token.
    wall_kind = "service" if "service" in kinds else "user"
    readers = sum(1 for t in tokens if t.kind == wall_kind)
    feed = "user" in kinds
    quota = readers * WALL_GET_QUOTA
    plan = plan_sources(
        [r for r in records if r.network is Network.VK],
        planner=QuotaPlanner(tokens=max(1, readers)),
        feed=feed,
        now=now,
    )
    rows = []
    for r in records:
        key = str(r.id)
        planned = plan.sources.get(key)
        described = plan.describe(key) if planned else "not polled"
        if r.network is not Network.VK and pollable(r):
            described = f"polled every {r.poll_interval_seconds} s"
        row = {
            "id": r.id,
            "network": r.network.value,
            "source": r.name,
            "title": r.title,
            "municipality": r.municipality,
            "interval_seconds": r.poll_interval_seconds,
            "planned_interval_seconds": round(planned.interval_seconds) if planned else None,
            "wall_get_per_day": round(planned.calls_per_day, 1) if planned else 0,
            "feed_covered": bool(planned and planned.feed_covered),
            "plan": described,
            "lag_seconds": r.health.lag_seconds,
            "last_success": r.health.last_success_at.isoformat()
            if r.health.last_success_at
            else None,
            "state": _state(r),
            **_waiting_fields(waiting, r.id, now),
        }
        rows.append(row)
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            lag = "-" if r.health.lag_seconds is None else f"{r.health.lag_seconds}s"
            print(
                f"{r.id:>4}  {r.network.value:<3} {r.name:<28} every {r.poll_interval_seconds:>5}s"
                f"  {described}  lag {lag:>7}"
                f"  last ok {_age(now, r.health.last_success_at):>9}  {_state(r)}"
            )
    if not args.json:
        share = f"{100 * plan.calls_per_day / quota:.0f}% of " if quota else ""
        print(
            f"{len(rows)} sources; planned ~{plan.calls_per_day:.0f} wall.get calls a day, "
            f"{share}the quota {quota} ({readers} reading tokens x {WALL_GET_QUOTA})",
            file=sys.stdout,
        )
        if waiting is not None:
            total = sum(b.messages for b in waiting.values())
            oldest = [b.oldest_collected_at for b in waiting.values() if b.oldest_collected_at]
            from app.backlog import Backlog

            backlog = Backlog(total, min(oldest) if oldest else None, now)
            print(f"waiting to be processed: {backlog.describe()}")
        if plan.feed is not None:
            per_day = plan.feed.calls_per_day
            print(
                f"feed path on the user token: newsfeed.get every {plan.feed.feed_interval:.0f} s"
                f" (~{per_day['newsfeed.get']:.0f}/day), newsfeed.getComments every "
                f"{plan.feed.comments_interval:.0f} s (~{per_day['newsfeed.getComments']:.0f}/day)"
            )
    return 0
