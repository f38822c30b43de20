"""The collector's commands end to end against the VK emulator on 127.0.0.1.

``sources add`` (resolved through vk_api), ``sources list``, ``collect --once`` and
``export messages --format jsonl``, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pytest_aiohttp.plugin import AiohttpServer

from app.cli import main
from emulator.vk import VkEmulator
from storage.migrate import upgrade

TOKEN = "vk-demo-service-1"


@pytest.fixture
def emu() -> VkEmulator:
    return VkEmulator(seed=7, groups=12)


@pytest.fixture
async def config(
    aiohttp_server: AiohttpServer,
    emu: VkEmulator,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    server = await aiohttp_server(emu.create_app())
    path = tmp_path / "config.yaml"
    path.write_text(
        "region: {code: kirov}\n"
        "networks:\n"
        "  vk:\n"
        "    tokens:\n"
        '      - {name: reader, kind: service, token: "${VK_TOKEN}"}\n'
        "  ok: {enabled: false}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("VK_TOKEN", TOKEN)
    monkeypatch.setenv("IM_VK_API_URL", str(server.make_url("/method")))
    monkeypatch.setenv("IM_DATABASE_URL", db_url)
    monkeypatch.delenv("IM_CONFIG", raising=False)
    upgrade(db_url)
    return path


async def cli(config: Path, *args: str) -> int:
    # The commands block (vk_api is synchronous; collect runs its own loop): keep them off the
    # loop that serves the emulator.
    return await asyncio.to_thread(main, ["--config", str(config), *args])


def small_group(emu: VkEmulator) -> tuple[int, str]:
    groups = [
        g
        for g in emu.world.groups.values()
        if g.state == "open" and g.id != emu.world.official_group_id and g.comments
    ]
    group = min(groups, key=lambda g: len(g.posts) + len(g.comments))
    return group.id, group.screen_name


async def test_add_list_collect_export(
    config: Path, emu: VkEmulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    group_id, screen = small_group(emu)
    assert (
        await cli(
            config, "sources", "add", f"https://vk.com/{screen}", "--municipality", "Уржумский"
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"-{group_id}" in out
    assert "Уржумский муниципальный район" in out
    assert await cli(config, "sources", "add", f"club{group_id}") == 1
    assert "already added" in capsys.readouterr().err

    assert await cli(config, "sources", "list") == 0
    out = capsys.readouterr().out
    assert screen in out
    assert "new" in out
    assert "the quota 5000 (1 reading tokens x 5000)" in out
    # The planner's interval and calls a day against the quota (no user token: no feed).
    assert "wall.get every " in out
    assert "/day, " in out
    assert "% of 5000 a day" in out
    assert "feed + " not in out
    assert "waiting to be processed: no message waiting" in out

    assert await cli(config, "collect", "--once") == 0
    summary = capsys.readouterr().out.strip()
    assert summary.startswith("1 sources polled, 0 failed;")

    target = tmp_path / "messages.jsonl"
    assert (
        await cli(config, "export", "messages", "--format", "jsonl", "--output", str(target)) == 0
    )
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    posts = {f"{p.owner_id}_{p.post_id}" for p in emu.visible_posts(group_id)}
    comments = {f"{c.owner_id}_{c.post_id}_{c.comment_id}" for c in emu.visible_comments(group_id)}
    assert {r["external_id"] for r in lines} == posts | comments
    assert len(lines) == len(posts | comments)
    record = lines[0]
    assert set(record) >= {
        "network",
        "source",
        "external_id",
        "kind",
        "parent",
        "author_id",
        "text",
        "posted_at",
        "url",
        "edited",
        "deleted",
    }
    assert record["source"] == screen

    assert await cli(config, "sources", "list", "--json") == 0
    (row,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert row["state"] == "ok"
    assert row["last_success"] is not None
    # The last poll set the interval of the plan made before it; the list re-plans from the
    # activity that poll observed.
    assert 60 <= row["planned_interval_seconds"] <= 6 * 3600
    assert row["wall_get_per_day"] > 0
    assert row["plan"].startswith("wall.get every ")
    # Everything collected waits for the pipeline (nothing has run `process`).
    assert row["backlog_messages"] == len(posts | comments)
    assert row["backlog_oldest_age_seconds"] is not None


async def test_with_a_user_token_the_feed_covers_sources(
    config: Path,
    emu: VkEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = (await asyncio.to_thread(config.read_text, encoding="utf-8")).replace(
        '      - {name: reader, kind: service, token: "${VK_TOKEN}"}\n',
        '      - {name: reader, kind: service, token: "${VK_TOKEN}"}\n'
        '      - {name: feed, kind: user, token: "${VK_USER_TOKEN}"}\n',
    )
    await asyncio.to_thread(config.write_text, text, encoding="utf-8")
    monkeypatch.setenv("VK_USER_TOKEN", "vk-demo-user")
    _, screen = small_group(emu)
    assert await cli(config, "sources", "add", screen) == 0
    capsys.readouterr()
    assert await cli(config, "sources", "list") == 0
    out = capsys.readouterr().out
    assert "feed + wall.get every " in out
    assert "feed path on the user token: newsfeed.get every 60 s" in out
    assert "(1 reading tokens x 5000)" in out
    assert await cli(config, "collect", "--once") == 0
    summary = capsys.readouterr().out.strip()
    assert summary.startswith("1 sources polled, 0 failed;"), summary
    assert "; feed: " in summary
    assert emu.token_stats("vk-demo-user").calls["newsfeed.get"] >= 1
    assert emu.token_stats("vk-demo-user").calls["wall.get"] == 0


async def test_collect_reports_failed_sources_with_exit_1(
    config: Path, emu: VkEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    group_id, screen = small_group(emu)
    assert await cli(config, "sources", "add", screen) == 0
    emu.set_group_state(group_id, "closed")
    assert await cli(config, "collect", "--once") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("1 sources polled, 1 failed;")
    assert screen in err[0]
    assert await cli(config, "sources", "list") == 0
    assert "disabled: closed" in capsys.readouterr().out


async def test_unknown_community_and_bad_reference(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(config, "sources", "add", "no_such_group_here") == 1
    assert "could not resolve" in capsys.readouterr().err
    assert await cli(config, "sources", "add", "https://example.com/x y") == 2
    assert "not a VK community" in capsys.readouterr().err
    assert await cli(config, "sources", "add", "club1", "--municipality", "Нигде") == 2


async def test_unmigrated_database_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("region: {code: kirov}\nnetworks: {ok: {enabled: false}}\n", encoding="utf-8")
    monkeypatch.setenv("IM_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert main(["--config", str(path), "sources", "list"]) == 1
    assert "db upgrade" in capsys.readouterr().err


def test_collect_without_a_token_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'im.db'}"
    upgrade(url)
    path = tmp_path / "c.yaml"
    path.write_text(
        "region: {code: kirov}\nnetworks:\n  vk: {tokens: []}\n  ok: {enabled: false}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("IM_DATABASE_URL", url)
    assert main(["--config", str(path), "collect", "--once"]) == 1
    assert "no VK token is configured" in capsys.readouterr().err


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(text)


async def test_import_sources_from_the_config(
    config: Path, emu: VkEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    _, screen = small_group(emu)
    append(
        config,
        "sources:\n"
        f"  - {{network: vk, group: https://vk.com/{screen}, municipality: Уржумский}}\n"
        "  - {network: vk, group: no_such_group_here}\n",
    )
    assert await cli(config, "sources", "import") == 1
    captured = capsys.readouterr()
    assert "1 sources added, 0 already present, 1 failed" in captured.out
    assert "no_such_group_here: not added" in captured.err
    assert await cli(config, "sources", "import") == 1
    assert "0 sources added, 1 already present, 1 failed" in capsys.readouterr().out


async def test_add_retries_transient_vk_failures(
    config: Path, emu: VkEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    group_id, screen = small_group(emu)
    # "Internal server error", then a 502 page, then a cut body: each is retried.
    emu.inject("error", error_code=10, method="groups.getById")
    emu.inject("http", status=502, method="groups.getById")
    emu.inject("truncate", method="groups.getById")
    assert await cli(config, "sources", "add", f"https://vk.com/{screen}") == 0
    assert f"-{group_id}" in capsys.readouterr().out
    assert emu.faults.pending() == []
    # A failure that keeps on is reported in one line after the last attempt.
    other = next(
        g.screen_name
        for g in emu.world.groups.values()
        if g.state == "open" and g.id not in (group_id, emu.world.official_group_id)
    )
    emu.inject("error", error_code=10, count=10, method="groups.getById")
    assert await cli(config, "sources", "add", other) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith("VK error 10: Internal server error")
    assert len(err.splitlines()) == 1
    assert emu.faults.pending()[0].count == 6  # four attempts, then it gave up


async def test_collect_honours_the_backfill_settings(
    config: Path, emu: VkEmulator, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from storage.db import create_engine_for, make_sessionmaker
    from storage.repositories.messages import MessageRepository

    busiest = max(
        (g for g in emu.world.groups.values() if g.state == "open" and g.fixed_post is None),
        key=lambda g: len(g.posts),
    )
    append(config, "collector: {backfill_days: 2, backfill_max_posts: 7}\n")
    assert await cli(config, "sources", "add", str(busiest.id)) == 0
    assert await cli(config, "collect", "--once") == 0
    capsys.readouterr()
    engine = create_engine_for(db_url)
    try:
        with make_sessionmaker(engine)() as s:
            posts = [r for r in MessageRepository(s).iter_records() if r.parent is None]
    finally:
        engine.dispose()
    visible = sorted(emu.visible_posts(busiest.id), key=lambda p: -p.post_id)
    horizon = emu.clock() - 2 * 86_400
    wanted = [f"{p.owner_id}_{p.post_id}" for p in visible if p.date >= horizon][:7]
    assert 0 < len(wanted) <= 7
    assert sorted(r.external_id for r in posts) == sorted(wanted)
