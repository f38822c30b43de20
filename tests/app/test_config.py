"""Configuration loading: the shipped file, the environment, and one-line errors for bad files."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import Config, ConfigError, WorkInterval, load_config
from classifier.regions import load_region

ROOT = Path(__file__).resolve().parent.parent.parent
SHIPPED = ROOT / "config.yaml"
BASE = ROOT / "tests" / "fixtures" / "config" / "base.yaml"

ENV = {
    "VK_TOKEN": "vk-secret-token-1",
    "VK_COMMUNITY_TOKEN": "vk-community-secret-2",
    "TG_BOT_TOKEN": "tg-bot-secret-3",
    "ADMIN_PASSWORD": "admin-password-4",
    "SESSION_SECRET": "session-secret-5",
}
SECRETS = tuple(ENV.values())

# The 26 topic groups of the ЦУР rubricator (shared/data/perm-incident-taxonomy).
TOPIC_GROUPS = (
    "Благоустройство",
    "ЖКХ",
    "Здравоохранение/Медицина",
    "Дороги",
    "Образование",
    "Социальное обслуживание и защита",
    "Общественный транспорт",
    "Коронавирус",
    "Мусор/Свалки/ТКО",
    "Газ и топливо",
    "Строительство и архитектура",
    "Безопасность",
    "Физическая культура и спорт",
    "Экономика и бизнес",
    "Культура",
    "Мобилизация",
    'МФЦ "Мои документы"',
    "Экология",
    "Роспотребнадзор",
    "Электроснабжение",
    "Связь и телевидение",
    "Спецпроекты",
    "Торговля",
    "Памятники и объекты культурного наследия",
    "Государственная собственность",
    "Погребение и похоронное дело",
)


def base_data() -> dict[str, Any]:
    data = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def write(tmp_path: Path, data: object, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def load(tmp_path: Path, data: object, env: dict[str, str] | None = None) -> Config:
    return load_config(write(tmp_path, data), ENV if env is None else env)


def assert_one_line(message: str) -> None:
    assert "\n" not in message
    assert "Traceback" not in message
    for secret in SECRETS:
        assert secret not in message


# --------------------------------------------------------------------------- the shipped file


def test_shipped_config_loads_without_any_environment() -> None:
    config = load_config(SHIPPED, {})
    assert config.region.code == "kirov"
    assert config.region.name == "Кировская область"
    assert config.region.timezone == "Europe/Kirov"
    assert config.database.url == f"sqlite:///{ROOT / 'var' / 'incident-management.db'}"
    assert config.web.host == "127.0.0.1"
    assert config.web.port == 8080
    assert not config.networks.vk.enabled
    assert not config.networks.ok.enabled
    assert config.sources
    assert config.scheduler.collect_interval > 0


def test_shipped_config_has_a_municipal_executor_for_every_municipality() -> None:
    config = load_config(SHIPPED, {})
    kirov = load_region("kirov")
    municipal = [e for e in config.executors if e.kind == "municipal"]
    assert len(municipal) == len(kirov.municipalities) == 45
    for municipality in kirov.municipalities:
        assert config.municipal_executor(municipality.oktmo) is not None, municipality.name
    ministries = [e for e in config.executors if e.kind == "ministry"]
    assert any(e.name == "Министерство здравоохранения Кировской области" for e in ministries)


def test_shipped_config_routes_every_topic_group_but_special_projects() -> None:
    config = load_config(SHIPPED, {})
    routed = {rule.topic_group for rule in config.jurisdiction.rules}
    assert set(TOPIC_GROUPS) - routed == {"Спецпроекты"}
    assert routed <= set(TOPIC_GROUPS)
    assert config.jurisdiction.default == "triage"


def test_shipped_config_requires_vk_tokens_once_vk_is_enabled(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    enabled = text.replace("    enabled: false\n", "    enabled: true\n", 1)
    assert enabled != text
    path = tmp_path / "config.yaml"
    path.write_text(enabled, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert str(caught.value) == (
        f"{path}: networks.vk.tokens[0].token: environment variable VK_SERVICE_TOKEN is not set"
    )
    env = {"VK_SERVICE_TOKEN": "service-secret", "VK_COMMUNITY_TOKEN": "community-secret"}
    config = load_config(path, env)
    assert config.networks.vk.tokens[0].token is not None
    assert config.networks.vk.tokens[0].token.get_secret_value() == "service-secret"


def test_shipped_standard_schedule_is_a_forty_hour_week() -> None:
    config = load_config(SHIPPED, {})
    standard = config.schedules["standard"]
    assert standard.weekly_minutes == 40 * 60
    assert [str(i) for i in standard.day(0)] == ["08:00-12:00", "12:48-17:00"]
    assert [str(i) for i in standard.day(4)] == ["08:00-12:00", "12:48-16:00"]
    assert standard.day(5) == standard.day(6) == ()


# --------------------------------------------------------------------------- the environment


def test_base_fixture_loads_with_substituted_secrets(tmp_path: Path) -> None:
    config = load(tmp_path, base_data())
    tokens = config.networks.vk.tokens
    assert tokens[0].token is not None
    assert tokens[0].token.get_secret_value() == "vk-secret-token-1"
    assert config.networks.telegram.bot_token is not None
    assert config.networks.telegram.bot_token.get_secret_value() == "tg-bot-secret-3"
    assert config.users[0].password is not None
    assert config.users[0].password.get_secret_value() == "admin-password-4"
    assert config.users[1].password is None
    assert config.web.public_url == "https://cur.example.ru"


def test_secrets_never_appear_in_repr_or_str(tmp_path: Path) -> None:
    data = base_data()
    data["database"]["url"] = "postgresql+psycopg://im:${DB_PASSWORD}@db.example/im"
    config = load(tmp_path, data, {**ENV, "DB_PASSWORD": "db-password-6"})
    assert config.database.url == "postgresql+psycopg://im:db-password-6@db.example/im"
    for text in (repr(config), str(config), repr(config.database), repr(config.networks)):
        for secret in (*SECRETS, "db-password-6"):
            assert secret not in text


def test_disabled_network_does_not_need_its_variables(tmp_path: Path) -> None:
    data = base_data()
    data["networks"]["vk"]["enabled"] = False
    env = {k: v for k, v in ENV.items() if not k.startswith("VK_")}
    config = load(tmp_path, data, env)
    assert not config.networks.vk.enabled
    assert config.networks.vk.tokens[0].token is None
    assert config.networks.ok.application_key is None


def test_optional_reference_and_dollar_escape(tmp_path: Path) -> None:
    data = base_data()
    data["web"]["session_secret"] = "${UNSET_SECRET:-}"
    data["executors"][0]["name"] = "Минздрав $$ ${DEPT_SUFFIX}"
    config = load(tmp_path, data, {**ENV, "DEPT_SUFFIX": "области"})
    assert config.web.session_secret is None
    assert config.executors[0].name == "Минздрав $ области"


def test_environment_overrides_win_over_the_file(tmp_path: Path) -> None:
    env = {
        **ENV,
        "IM_DATABASE_URL": "postgresql+psycopg://im@db.example/im",
        "IM_VK_API_URL": "http://127.0.0.1:9001/method",
        "IM_OK_API_URL": "http://127.0.0.1:9002/fb.do",
        "IM_TELEGRAM_URL": "http://127.0.0.1:9003/",
    }
    config = load(tmp_path, base_data(), env)
    assert config.database.url == "postgresql+psycopg://im@db.example/im"
    assert config.networks.vk.api_url == "http://127.0.0.1:9001/method"
    assert config.networks.ok.api_url == "http://127.0.0.1:9002/fb.do"
    assert config.networks.telegram.api_url == "http://127.0.0.1:9003"


def test_environment_override_fills_a_missing_section(tmp_path: Path) -> None:
    config = load(tmp_path, {"region": {"code": "kirov"}}, {"IM_VK_API_URL": "http://vk.test"})
    assert config.networks.vk.api_url == "http://vk.test"


def test_empty_override_is_ignored(tmp_path: Path) -> None:
    config = load(tmp_path, base_data(), {**ENV, "IM_DATABASE_URL": ""})
    assert config.database.url == f"sqlite:///{tmp_path / 'var' / 'test.db'}"


def test_bad_override_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, base_data(), {**ENV, "IM_DATABASE_URL": "nonsense"})
    assert ": database.url (from IM_DATABASE_URL): not a database URL" in str(caught.value)


def test_a_short_api_url_override_is_named_not_scrubbed_out_of_its_message(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, base_data(), {**ENV, "IM_OK_API_URL": "http://"})
    message = str(caught.value)
    assert "networks.ok.api_url (from IM_OK_API_URL)" in message
    assert "http://" in message
    assert "***" not in message


def test_an_override_url_with_credentials_stays_out_of_the_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, base_data(), {**ENV, "IM_VK_API_URL": "ftp://bot:hunter2-secret@vk.test"})
    assert "hunter2-secret" not in str(caught.value)
    assert "(from IM_VK_API_URL)" in str(caught.value)


# --------------------------------------------------------------------------- paths and defaults


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///var/x.db", "sqlite:///{dir}/var/x.db"),
        ("sqlite:///x.db", "sqlite:///{dir}/x.db"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("sqlite://", "sqlite://"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_sqlite_paths_resolve_against_the_config_directory(
    tmp_path: Path, url: str, expected: str
) -> None:
    config = load(tmp_path, {"region": {"code": "kirov"}, "database": {"url": url}}, {})
    assert config.database.url == expected.format(dir=tmp_path)


def test_relative_override_resolves_against_the_config_directory(tmp_path: Path) -> None:
    config = load(tmp_path, {"region": {"code": "kirov"}}, {"IM_DATABASE_URL": "sqlite:///o.db"})
    assert config.database.url == f"sqlite:///{tmp_path / 'o.db'}"


def test_minimal_config_gets_the_code_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, {"region": {"code": "perm"}}, {})
    assert config.region.timezone == "Asia/Yekaterinburg"
    assert config.region.name == "Пермский край"
    assert config.database.url == f"sqlite:///{tmp_path / 'var' / 'incident-management.db'}"
    assert (config.web.host, config.web.port) == ("127.0.0.1", 8080)
    assert config.networks.vk.api_version == "5.199"
    assert config.networks.vk.requests_per_second.community == 20
    assert config.sla.default_hours == 8
    assert config.sla.interim_days == 7
    assert config.jurisdiction.default == "triage"
    assert "standard" in config.schedules
    assert config.scheduler.retrain_interval == 86400


def test_executor_defaults_to_region_zone_and_standard_schedule(tmp_path: Path) -> None:
    config = load(tmp_path, base_data())
    minzdrav = config.executor("minzdrav")
    assert minzdrav is not None
    assert minzdrav.timezone == "Europe/Kirov"
    assert minzdrav.schedule == config.schedules["standard"]


def test_schedules_parse_overnight_and_midnight_end(tmp_path: Path) -> None:
    data = base_data()
    data["schedules"]["late"] = {"sat": ["18:00-24:00"], "sun": "9:00-13:00, 14:00-18:00"}
    config = load(tmp_path, data)
    night = config.schedules["night"].day(0)
    assert night == (WorkInterval(22 * 60, 30 * 60),)
    assert night[0].overnight
    assert str(night[0]) == "22:00-06:00"
    late = config.schedules["late"]
    assert late.day(5) == (WorkInterval(18 * 60, 24 * 60),)
    assert [str(i) for i in late.day(6)] == ["09:00-13:00", "14:00-18:00"]


def test_municipality_references_resolve_to_the_region_data(tmp_path: Path) -> None:
    config = load(tmp_path, base_data())
    assert config.sources[1].municipality is not None
    assert config.sources[1].municipality.oktmo == "33635000"
    assert config.sources[2].municipality is not None
    assert config.sources[2].municipality.name == "город Киров"
    assert config.jurisdiction.rules[0].municipality is None
    assert config.sources[0].group == "kirovreg43"
    assert config.sources[2].group == "kirov_news"


def test_calendar_file_is_resolved_and_checked(tmp_path: Path) -> None:
    (tmp_path / "extra-calendar.yaml").write_text("years: {}\n", encoding="utf-8")
    data = {"region": {"code": "kirov"}, "calendar": "extra-calendar.yaml"}
    config = load(tmp_path, data, {})
    assert config.calendar == tmp_path / "extra-calendar.yaml"
    (tmp_path / "extra-calendar.yaml").write_text("years: []\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, data, {})
    assert ": calendar: not a valid calendar file: " in str(caught.value)
    assert_one_line(str(caught.value))


# --------------------------------------------------------------------------- broken variants

Mutation = Callable[[dict[str, Any]], None]


def _set(*path: str | int, value: object) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return mutate


def _delete(*path: str | int) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return mutate


def _append(*path: str | int, value: object) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for part in path:
            node = node[part]
        node.append(copy.deepcopy(value))

    return mutate


BROKEN: list[tuple[str, Mutation, str, str]] = [
    (
        "time range past 24:00",
        _set("executors", 3, "schedule", "mon", value=["9:00-25:00"]),
        "executors[3].schedule.mon",
        '"9:00-25:00" is not a time range',
    ),
    (
        "time range not a range",
        _set("schedules", "night", "mon-fri", value=["morning"]),
        "schedules.night.mon-fri",
        "is not a time range",
    ),
    (
        "overlapping intervals",
        _set("executors", 3, "schedule", "mon", value=["08:00-12:00", "11:00-13:00"]),
        "executors[3].schedule.mon",
        "overlap",
    ),
    (
        "unknown day key",
        _set("executors", 3, "schedule", "mon-xyz", value=["08:00-12:00"]),
        "executors[3].schedule.mon-xyz",
        "is not a day",
    ),
    (
        "a day given twice",
        _set("executors", 3, "schedule", "fri", value=["08:00-12:00"]),
        "executors[3].schedule",
        "fri is given twice",
    ),
    (
        "overnight time running into the next day",
        _set("schedules", "night", "sat", value=["05:00-10:00"]),
        "schedules.night",
        "runs into",
    ),
    (
        "unknown top-level key",
        _set("executor", value=[]),
        "executor",
        "unknown key 'executor'; did you mean 'executors'?",
    ),
    (
        "unknown nested key",
        _set("networks", "vk", "token", value="x"),
        "networks.vk.token",
        "did you mean 'tokens'?",
    ),
    (
        "unknown key in a list item",
        _set("executors", 1, "shedule", value="night"),
        "executors[1].shedule",
        "did you mean 'schedule'?",
    ),
    (
        "port is not a number",
        _set("web", "port", value="eighty"),
        "web.port",
        'expected a whole number, got "eighty"',
    ),
    ("port out of range", _set("web", "port", value=70000), "web.port", "65535"),
    (
        "a mapping where a list is expected",
        _set("sources", value={"network": "vk"}),
        "sources",
        "expected a list",
    ),
    ("a list where a mapping is expected", _set("web", value=[]), "web", "expected a mapping"),
    (
        "rule with an undefined executor",
        _set("jurisdiction", "rules", 1, "executor", value="adm-city-kirow"),
        "jurisdiction.rules[1].executor",
        "did you mean 'adm-city-kirov'?",
    ),
    (
        "undefined default executor",
        _set("jurisdiction", "default", value="nobody"),
        "jurisdiction.default",
        "is not defined",
    ),
    (
        "source in a municipality that does not exist",
        _set("sources", 1, "municipality", value="Нарнийский район"),
        "sources[1].municipality",
        "no municipality 'Нарнийский район' in Кировская область",
    ),
    (
        "executor in a municipality that does not exist",
        _set("executors", 2, "municipality", value="99999000"),
        "executors[2].municipality",
        "no municipality",
    ),
    (
        "rule in a municipality that does not exist",
        _set("jurisdiction", "rules", 1, "municipality", value="Москва"),
        "jurisdiction.rules[1].municipality",
        "no municipality",
    ),
    (
        "duplicate executor codes",
        _set("executors", 1, "code", value="minzdrav"),
        "executors[1].code",
        "already used by executors[0]",
    ),
    (
        "VK community rate above the real limit",
        _set("networks", "vk", "requests_per_second", "community", value=25),
        "networks.vk.requests_per_second.community",
        "above VK's limit of 20",
    ),
    (
        "VK user rate above the real limit",
        _set("networks", "vk", "requests_per_second", "user", value=5),
        "networks.vk.requests_per_second.user",
        "above VK's limit of 3",
    ),
    (
        "executor with a bad time zone",
        _set("executors", 0, "timezone", value="Europe/Kirow"),
        "executors[0].timezone",
        "unknown time zone 'Europe/Kirow'",
    ),
    (
        "region with a bad time zone",
        _set("region", "timezone", value="UTC+3"),
        "region.timezone",
        "unknown time zone",
    ),
    ("unknown region", _set("region", "code", value="mordor"), "region.code", "unknown region"),
    ("missing region", _delete("region"), "region", "required section is missing"),
    (
        "executor user without executor",
        _delete("users", 1, "executor"),
        "users[1].executor",
        "required for a user with role 'executor'",
    ),
    (
        "user of an undefined executor",
        _set("users", 1, "executor", value="minobr"),
        "users[1].executor",
        "is not defined",
    ),
    (
        "operator bound to an executor",
        _set("users", 0, "executor", value="minzdrav"),
        "users[0].executor",
        "only users with role 'executor'",
    ),
    (
        "duplicate logins",
        _set("users", 1, "login", value="admin"),
        "users[1].login",
        "already used",
    ),
    ("bad role", _set("users", 0, "role", value="root"), "users[0].role", "expected 'operator'"),
    (
        "secret written into the file",
        _set("networks", "vk", "tokens", 0, "token", value="plain-token-in-file"),
        "networks.vk.tokens[0].token",
        "secrets are never written into the file",
    ),
    (
        "confidence above 1",
        _set("jurisdiction", "auto_route_min_confidence", value=1.5),
        "jurisdiction.auto_route_min_confidence",
        "less than or equal to 1",
    ),
    (
        "zero scheduler interval",
        _set("scheduler", "collect_interval", value=0),
        "scheduler.collect_interval",
        "greater than 0",
    ),
    (
        "scheduler interval as text",
        _set("scheduler", "retrain_interval", value="1d"),
        "scheduler.retrain_interval",
        "expected a whole number",
    ),
    (
        "calendar file that does not exist",
        _set("calendar", value="missing-calendar.yaml"),
        "calendar",
        "file not found",
    ),
    (
        "calendar path too long for the file system",
        _set("calendar", value="к" * 10_000 + ".yaml"),
        "calendar",
        "not a usable file path (File name too long)",
    ),
    (
        "rubricator path too long for the file system",
        lambda data: data.setdefault("classifier", {}).update(
            rubricator="рубрикатор/" * 1_000 + "r.json"
        ),
        "classifier.rubricator",
        "not a usable file path (File name too long)",
    ),
    (
        "region time zone too long for a file name",
        _set("region", "timezone", value="Europe/" + "K" * 10_000),
        "region.timezone",
        "unknown time zone",
    ),
    (
        "executor time zone too long for a file name",
        _set("executors", 0, "timezone", value="Asia/" + "Я" * 10_000),
        "executors[0].timezone",
        "unknown time zone",
    ),
    (
        "unknown named schedule",
        _set("executors", 0, "schedule", value="weekend"),
        "executors[0].schedule",
        "unknown schedule 'weekend'; defined: night, standard",
    ),
    (
        "municipal executor without municipality",
        _delete("executors", 2, "municipality"),
        "executors[2].municipality",
        "required for a municipal executor",
    ),
    (
        "ministry with a municipality",
        _set("executors", 0, "municipality", value="Киров"),
        "executors[0].municipality",
        "only municipal executors",
    ),
    (
        "two administrations for one municipality",
        _set("executors", 2, "municipality", value="Киров"),
        "executors[3].municipality",
        "already has a municipal executor",
    ),
    (
        "executor without a name",
        _delete("executors", 0, "name"),
        "executors[0].name",
        "required key is missing",
    ),
    (
        "bad executor kind",
        _set("executors", 0, "kind", value="agency"),
        "executors[0].kind",
        "expected 'ministry' or 'municipal'",
    ),
    (
        "api version as a number",
        _set("networks", "vk", "api_version", value=5.13),
        "networks.vk.api_version",
        "quoted string",
    ),
    (
        "the same group twice",
        _append("sources", value={"network": "vk", "group": "vk.com/kirovreg43"}),
        "sources[3].group",
        "already listed as sources[0]",
    ),
    (
        "not a group",
        _set("sources", 0, "group", value="two words"),
        "sources[0].group",
        "is not a group link",
    ),
    (
        "enabled VK without a reading token",
        _set("networks", "vk", "tokens", value=[]),
        "networks.vk.tokens",
        "no user or service token",
    ),
    (
        "negative SLA override",
        _set("sla", "overrides", 0, "hours", value=-4),
        "sla.overrides[0].hours",
        "greater than 0",
    ),
    (
        "bad e-mail",
        _set("executors", 1, "notify", "email", value="not-an-email"),
        "executors[1].notify.email",
        "is not an e-mail address",
    ),
    (
        "database URL of the wrong type",
        _set("database", "url", value=42),
        "database.url",
        "expected a string, got 42",
    ),
    (
        "malformed environment reference",
        _set("web", "session_secret", value="${not valid}"),
        "web.session_secret",
        "malformed environment reference",
    ),
    (
        "boolean given as text",
        _set("sla", "escalate_outside_hours", value="sometimes"),
        "sla.escalate_outside_hours",
        "expected true or false",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "key_path", "problem"),
    [pytest.param(m, k, p, id=name) for name, m, k, p in BROKEN],
)
def test_broken_config_reports_one_precise_line(
    tmp_path: Path, mutation: Mutation, key_path: str, problem: str
) -> None:
    data = base_data()
    mutation(data)
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_config(path, ENV)
    message = str(caught.value)
    assert_one_line(message)
    assert message.startswith(f"{path}: {key_path}: "), message
    assert problem in message
    assert caught.value.key_path == key_path


@pytest.mark.parametrize(
    ("env", "key_path", "problem"),
    [
        pytest.param(
            {k: v for k, v in ENV.items() if k != "VK_TOKEN"},
            "networks.vk.tokens[0].token",
            "environment variable VK_TOKEN is not set",
            id="missing VK token",
        ),
        pytest.param(
            {**ENV, "TG_BOT_TOKEN": ""},
            "networks.telegram.bot_token",
            "environment variable TG_BOT_TOKEN is empty",
            id="empty Telegram token",
        ),
        pytest.param(
            {k: v for k, v in ENV.items() if k != "ADMIN_PASSWORD"},
            "users[0].password",
            "environment variable ADMIN_PASSWORD is not set",
            id="missing password",
        ),
    ],
)
def test_missing_environment_variable(
    tmp_path: Path, env: dict[str, str], key_path: str, problem: str
) -> None:
    path = write(tmp_path, base_data())
    with pytest.raises(ConfigError) as caught:
        load_config(path, env)
    assert str(caught.value) == f"{path}: {key_path}: {problem}"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("region: {code: kirov\nweb: [", "invalid YAML at line", id="invalid YAML"),
        pytest.param("region:\n  code: kirov\n   bad: 1\n", "column", id="bad indentation"),
        pytest.param("", "the file is empty", id="empty file"),
        pytest.param("# only a comment\n", "the file is empty", id="only comments"),
        pytest.param("- region\n- web\n", "top level must be a mapping", id="top-level list"),
        pytest.param("just text\n", "top level must be a mapping", id="top-level scalar"),
        pytest.param(
            "region: {code: kirov}\nregion: {code: perm}\n",
            "duplicate key 'region' (first given at line 1)",
            id="duplicate YAML key",
        ),
        pytest.param("region: {code: kirov}\n1: x\n", "is not a string", id="numeric key"),
    ],
)
def test_broken_file_reports_one_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, ENV)
    message = str(caught.value)
    assert_one_line(message)
    assert message.startswith(f"{path}: ")
    assert problem in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert str(caught.value) == f"{path}: file not found"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, {})
    assert str(caught.value) == f"{tmp_path}: is a directory, not a file"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes("region: {code: киров}".encode("cp1251"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert "not UTF-8" in str(caught.value)


def test_yaml_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("region:\n  code: kirov\nweb: {port: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert "invalid YAML at line 4, column 1" in str(caught.value)


def test_file_name_is_the_path_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text("region: {code: kirov}\nexecutorz: []\n", "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(Path("config.yaml"), {})
    assert str(caught.value) == (
        "config.yaml: executorz: unknown key 'executorz'; did you mean 'executors'?"
    )


def test_secret_values_are_scrubbed_from_messages(tmp_path: Path) -> None:
    data = base_data()
    data["web"]["port"] = "${SESSION_SECRET}"
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_config(path, ENV)
    message = str(caught.value)
    assert message.startswith(f"{path}: web.port: ")
    assert "session-secret-5" not in message


def test_config_is_frozen(tmp_path: Path) -> None:
    config = load(tmp_path, base_data())
    with pytest.raises(ValueError, match="frozen"):
        config.web.port = 1  # type: ignore[misc]
