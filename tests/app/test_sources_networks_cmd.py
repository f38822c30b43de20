"""``sources add``/``list``, ``collect --once`` and ``export`` for OK, Telegram and replay files.

Against the OK and Telegram emulators on 127.0.0.1, on SQLite and PostgreSQL; VK is off.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp.plugin import AiohttpServer

from app.cli import main
from emulator.ok import DEMO_ACCESS_TOKEN, DEMO_APP_KEY, DEMO_APP_SECRET, OkEmulator
from emulator.telegram import TelegramEmulator
from storage.migrate import upgrade


@pytest.fixture
def ok_emu() -> OkEmulator:
    return OkEmulator(seed=9, groups=2, posts=16)


@pytest.fixture
def tg_emu() -> TelegramEmulator:
    return TelegramEmulator(seed=9, channels=2, posts=16)


@pytest.fixture
async def config(
    aiohttp_server: AiohttpServer,
    ok_emu: OkEmulator,
    tg_emu: TelegramEmulator,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    app = web.Application()
    ok_emu.add_routes(app)
    tg_emu.add_routes(app)
    server = await aiohttp_server(app)
    path = tmp_path / "config.yaml"
    path.write_text(
        "region: {code: kirov}\n"
        "networks:\n"
        "  vk: {enabled: false}\n"
        "  ok:\n"
        '    application_key: "${OK_APP_KEY}"\n'
        '    application_secret: "${OK_APP_SECRET}"\n'
        '    access_token: "${OK_TOKEN}"\n'
        "  telegram: {page_interval: 1}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("OK_APP_KEY", DEMO_APP_KEY)
    monkeypatch.setenv("OK_APP_SECRET", DEMO_APP_SECRET)
    monkeypatch.setenv("OK_TOKEN", DEMO_ACCESS_TOKEN)
    monkeypatch.setenv("IM_OK_API_URL", str(server.make_url("/fb.do")))
    monkeypatch.setenv("IM_TELEGRAM_URL", str(server.make_url("")).rstrip("/"))
    monkeypatch.setenv("IM_DATABASE_URL", db_url)
    monkeypatch.delenv("IM_CONFIG", raising=False)
    upgrade(db_url)
    return path


async def cli(config: Path, *args: str) -> int:
    return await asyncio.to_thread(main, ["--config", str(config), *args])


async def test_add_list_collect_export(
    config: Path,
    ok_emu: OkEmulator,
    tg_emu: TelegramEmulator,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    group = next(iter(ok_emu.world.groups.values()))
    assert await cli(config, "sources", "add", f"https://ok.ru/group/{group.shortname}") == 0
    assert f"({group.uid})" in capsys.readouterr().out
    assert await cli(config, "sources", "add", f"ok.ru/group/{group.uid}") == 1
    assert "already added" in capsys.readouterr().err

    channel = next(iter(tg_emu.channels.values()))
    assert await cli(config, "sources", "add", f"https://t.me/{channel.username.lower()}") == 0
    out = capsys.readouterr().out
    assert f"({channel.username})" in out  # the canonical name from data-post
    assert channel.title in out
    assert await cli(config, "sources", "add", f"t.me/s/{channel.username}") == 1
    assert "already added" in capsys.readouterr().err
    assert await cli(config, "sources", "add", "https://t.me/closed_club") == 1
    assert "no public preview" in capsys.readouterr().err

    archive = tmp_path / "архив.jsonl"
    archive.write_text(
        json.dumps(
            {
                "network": "vk",
                "external_id": "-7_1",
                "kind": "post",
                "time": "2026-11-02T08:00:00+03:00",
                "text": "Не работает светофор на перекрёстке",
            },
            ensure_ascii=False,
        )
        + "\n{broken\n",
        encoding="utf-8",
    )
    assert await cli(config, "sources", "add", f"file:{archive}") == 0
    assert "архив.jsonl" in capsys.readouterr().out
    assert await cli(config, "sources", "add", f"file:{tmp_path / 'nope.jsonl'}") == 2
    assert "no such file" in capsys.readouterr().err

    assert await cli(config, "sources", "list", "--json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(r["network"] for r in rows) == ["file", "ok", "telegram"]
    assert {r["state"] for r in rows} == {"new"}

    assert await cli(config, "collect", "--once") == 0
    summary = capsys.readouterr().out
    assert summary.startswith("3 sources polled, 0 failed;")
    target = tmp_path / "messages.jsonl"
    assert await cli(config, "export", "messages", "--output", str(target)) == 0
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    by_network: dict[str, set[str]] = {}
    for line in lines:
        by_network.setdefault(line["network"], set()).add(line["external_id"])
    assert by_network["ok"] == set(ok_emu.world.truth(group.uid))
    assert by_network["telegram"] == set(tg_emu.truth(channel.username))  # under a page
    assert by_network["vk"] == {"-7_1"}
    assert len(lines) == sum(len(v) for v in by_network.values())

    # Again: nothing stored twice; the health is listed.
    assert await cli(config, "collect", "--once") == 0
    assert "0 messages stored" in capsys.readouterr().out
    assert await cli(config, "sources", "list") == 0
    out = capsys.readouterr().out
    assert out.count(" ok\n") + out.count("  ok") >= 3
    assert "polled every" in out


async def test_ok_without_credentials_is_one_line(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await asyncio.to_thread(
        config.write_text,
        "region: {code: kirov}\nnetworks:\n  vk: {enabled: false}\n  ok: {enabled: false}\n",
        encoding="utf-8",
    )
    assert await cli(config, "sources", "add", "https://ok.ru/group/1") == 1
    assert "credentials are missing" in capsys.readouterr().err
    assert await cli(config, "collect", "--once") == 1
    assert "VK is switched off" in capsys.readouterr().err


async def test_import_ok_and_telegram_sources_from_the_config(
    config: Path,
    ok_emu: OkEmulator,
    tg_emu: TelegramEmulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    group = next(iter(ok_emu.world.groups.values()))
    channel = next(iter(tg_emu.channels.values()))
    text = await asyncio.to_thread(config.read_text, encoding="utf-8")
    text += (
        "sources:\n"
        f"  - {{network: ok, group: https://ok.ru/group/{group.uid}, municipality: Уржумский}}\n"
        f"  - {{network: telegram, group: https://t.me/s/{channel.username}, name: Вести}}\n"
        "  - {network: telegram, group: t.me/hidden_channel}\n"
    )
    await asyncio.to_thread(config.write_text, text, encoding="utf-8")
    assert await cli(config, "sources", "import") == 1
    captured = capsys.readouterr()
    assert "2 sources added, 0 already present, 1 failed" in captured.out
    assert "hidden_channel: not added" in captured.err
    assert await cli(config, "sources", "import") == 1
    assert "0 sources added, 2 already present, 1 failed" in capsys.readouterr().out
    assert await cli(config, "sources", "list", "--json") == 0
    rows = {r["network"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["ok"]["municipality"] == "Уржумский муниципальный район"
    assert rows["telegram"]["title"] == "Вести"
