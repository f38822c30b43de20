"""The demo wiring: the emulator as a child process, the demo config, one collect + process run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.commands.demo_cmd import (
    demo_config,
    demo_environment,
    emulator_command,
    prepare_database,
    running_emulator,
)
from app.config import load_config
from app.runtime import Listening, Service, serve
from storage.db import create_engine_for, make_sessionmaker
from storage.enums import IncidentStatus, Network
from storage.repositories import IncidentRepository
from storage.repositories.classifications import ClassificationRepository
from storage.repositories.messages import MessageRepository
from storage.repositories.sources import SourceRepository
from tests.app.test_pipeline_support import LEMMATIZER, KeywordClassifier

ROOT = Path(__file__).resolve().parents[2]


def test_the_emulator_runs_as_a_child_process_of_our_interpreter() -> None:
    command = emulator_command(port=9999, seed=3, groups=5, activity_speed=0.0)
    assert command[1:3] == ["-m", "emulator"]
    assert "9999" in command


def test_the_demo_config_turns_vk_on_against_the_emulator(tmp_path: Path) -> None:
    base = load_config(ROOT / "config.yaml", demo_environment({}))
    config = demo_config(
        base,
        api_url="http://127.0.0.1:1/method",
        database_url="sqlite:///x.db",
        interval=4,
        auto_route_min_confidence=0.5,
    )
    assert config.jurisdiction.auto_route_min_confidence == 0.5
    assert config.jurisdiction.rules == base.jurisdiction.rules
    assert config.networks.vk.enabled
    assert str(config.networks.vk.api_url).startswith("http://127.0.0.1:1/method")
    assert {t.kind for t in config.networks.vk.tokens} == {"service", "community"}
    assert (config.scheduler.collect_interval, config.scheduler.classify_interval) == (4, 4)
    assert config.database.url == "sqlite:///x.db"
    assert not base.networks.vk.enabled  # the shipped file is left as it is


async def test_one_collect_and_process_cycle_opens_routed_incidents(tmp_path: Path) -> None:
    base = load_config(ROOT / "config.yaml", demo_environment({}))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with running_emulator(
        seed=1, groups=8, activity_speed=0.0, ok_groups=1, telegram_channels=1
    ) as emulator:
        # Long intervals: the test fires the jobs itself, once each.
        config = demo_config(
            base,
            api_url=emulator.api_url,
            database_url=url,
            interval=3600,
            ok_api_url=emulator.ok_api_url,
            telegram_url=emulator.base_url,
        )
        # Keyword search as an administrator would switch it on: the daemon must use it too.
        vk = config.networks.vk.model_copy(
            update={"search_keywords": ("прорыв трубы", "яма"), "search_interval": 900}
        )
        config = config.model_copy(
            update={"networks": config.networks.model_copy(update={"vk": vk})}
        )
        admin = emulator.admin()
        ok_admin, telegram_admin = emulator.admin("ok"), emulator.admin("telegram")
        await asyncio.to_thread(prepare_database, config, admin, ok_admin, telegram_admin)
        started: list[Service] = []
        ready = asyncio.Event()
        stop = asyncio.Event()

        def on_started(service: Service) -> None:
            started.append(service)
            ready.set()

        def on_listening(where: Listening) -> None:
            assert where.port > 0

        task = asyncio.create_task(
            serve(
                config,
                host="127.0.0.1",
                port=0,
                stop=stop,
                on_listening=on_listening,
                classifier=KeywordClassifier(),
                lemmatizer=LEMMATIZER,
                on_started=on_started,
            )
        )
        await asyncio.wait_for(ready.wait(), timeout=60)
        jobs = {job.name: job for job in started[0].jobs}
        collector = started[0].collector
        assert collector is not None
        assert collector.search_keywords == ("прорыв трубы", "яма")
        assert collector.search_interval == 900.0
        # The demo has the control centre's community token, so approved answers get published.
        assert {"collect", "process", "deadlines", "publish", "followup", "notify"} <= set(jobs)
        await jobs["collect"].func()
        await jobs["process"].func()
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    sessions = make_sessionmaker(create_engine_for(url))
    with sessions() as s:
        incidents = IncidentRepository(s).by_status(list(IncidentStatus))
        verdicts = ClassificationRepository(s).by_version()
        # The demo region also has OK groups and Telegram channels, collected by the same job.
        networks = {
            network: sum(1 for _ in MessageRepository(s, network=network).iter_records())
            for network in (Network.OK, Network.TELEGRAM)
        }
        sources = {r.network for r in SourceRepository(s).all()}
    assert sources == {Network.VK, Network.OK, Network.TELEGRAM}
    assert networks[Network.OK] > 10
    assert networks[Network.TELEGRAM] > 10
    assert verdicts["keywords:2026-11-23"] > 50
    assert incidents
    routed = [i for i in incidents if i.executor_code is not None]
    assert routed, "no incident was routed to an executor"
    assert all(i.status in (IncidentStatus.ASSIGNED, IncidentStatus.TRIAGE) for i in incidents)


def test_a_community_named_after_a_town_gets_its_municipality() -> None:
    from app.commands.demo_cmd import community_municipality
    from classifier.regions import load_region

    region = load_region("kirov")
    found = community_municipality("Подслушано Киров", region)
    assert found is not None
    assert found.oktmo == "33701000"
    kotelnich = community_municipality("Котельнич сегодня", region)
    assert kotelnich is not None
    assert kotelnich.oktmo == "33710000"
    assert community_municipality("Жалобы онлайн", region) is None


def test_demo_logins_use_the_environment_or_make_passwords(tmp_path: Path) -> None:
    from app.bootstrap import bootstrap
    from app.commands.demo_cmd import demo_logins
    from tests.web.conftest import HASHER

    env = demo_environment({"IM_SUPERVISOR_PASSWORD": "Из-окружения-2026"})
    config, logins = demo_logins(load_config(ROOT / "config.yaml", env))
    by_login = {login: (role, password) for login, role, password in logins}
    assert {"operator", "supervisor", "minzdrav"} <= set(by_login)
    assert by_login["supervisor"] == ("supervisor", "Из-окружения-2026")
    assert by_login["minzdrav"][0] == "executor minzdrav"
    assert len(by_login["operator"][1]) >= 12
    second = dict(
        (login, p) for login, _, p in demo_logins(load_config(ROOT / "config.yaml", env))[1]
    )
    assert second["operator"] != by_login["operator"][1]  # made afresh for each run
    # The bootstrap gives the users these passwords (hashed), so they can sign in.
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    from storage.migrate import upgrade

    upgrade(url)
    sessions = make_sessionmaker(create_engine_for(url))
    bootstrap(config, sessions, hash_password=HASHER.hash)
    from app.accounts import AccountService
    from app.runtime import utc_clock

    accounts = AccountService(sessionmaker=sessions, clock=utc_clock, hasher=HASHER)
    viewer = accounts.authenticate_sync("minzdrav", by_login["minzdrav"][1])
    assert viewer.executor_code == "minzdrav"
