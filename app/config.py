"""Load config.yaml and the environment into one typed, frozen, validated configuration."""

from __future__ import annotations

import difflib
import itertools
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, Union
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    RootModel,
    SecretStr,
    Strict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from app.database_url import InvalidDatabaseUrl, parse_database_url
from classifier.regions import (
    AmbiguousMunicipalityError,
    Municipality,
    Region,
    UnknownRegionError,
    load_region,
)
from classifier.rubricator import RubricatorError, load_rubricator
from router.calendar import CalendarError, load_calendar

__all__ = [
    "DEFAULT_DATABASE_URL",
    "ENV_OVERRIDES",
    "MUNICIPAL_EXECUTOR",
    "NOTIFY_EVENTS",
    "TRIAGE",
    "CollectorConfig",
    "Config",
    "ConfigError",
    "DatabaseConfig",
    "ExecutorConfig",
    "FollowupConfig",
    "JurisdictionConfig",
    "JurisdictionRule",
    "LoggingConfig",
    "MetricsConfig",
    "NetworksConfig",
    "NotificationsConfig",
    "NotifyConfig",
    "NotifyEvent",
    "OkConfig",
    "RegionConfig",
    "RetentionConfig",
    "RetrainConfig",
    "SchedulerConfig",
    "SlaConfig",
    "SlaOverride",
    "SmtpConfig",
    "SourceConfig",
    "SupervisorsNotifyConfig",
    "TelegramConfig",
    "UserConfig",
    "VkConfig",
    "VkRateLimits",
    "VkToken",
    "WebConfig",
    "WeeklySchedule",
    "WorkInterval",
    "format_key_path",
    "load_config",
]

DEFAULT_DATABASE_URL = "sqlite:///var/incident-management.db"
#: Environment variables applied over config.yaml, and the key each one replaces.
ENV_OVERRIDES: Mapping[str, tuple[str, ...]] = {
    "IM_DATABASE_URL": ("database", "url"),
    "IM_VK_API_URL": ("networks", "vk", "api_url"),
    "IM_OK_API_URL": ("networks", "ok", "api_url"),
    "IM_TELEGRAM_URL": ("networks", "telegram", "api_url"),
}
#: A jurisdiction rule's executor meaning "the municipal executor of the incident's municipality".
MUNICIPAL_EXECUTOR = "$municipal"
#: The operators' triage queue: where incidents go when no rule routes them.
TRIAGE = "triage"
#: Real VK limits, requests per second per token (reference/social-apis.md, A3).
VK_RATE_LIMITS: Mapping[str, float] = {"user": 3, "service": 3, "community": 20}
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The built-in ``standard`` schedule: the 40-hour week of a Kirov oblast government office
#: (Mon-Thu 08:00-17:00, Fri 08:00-16:00, lunch 12:00-12:48).
STANDARD_SCHEDULE: Mapping[str, list[str]] = {
    "mon-thu": ["08:00-12:00", "12:48-17:00"],
    "fri": ["08:00-12:00", "12:48-16:00"],
}

Path_ = tuple[str | int, ...]


class ConfigError(Exception):
    """The configuration cannot be used; ``str()`` is one line: file, key path and problem."""

    def __init__(self, source: str, problem: str, key_path: str = "") -> None:
        """Keep the parts; the message is built from them on one line."""
        self.source = source
        self.key_path = key_path
        self.problem = " ".join(problem.split())
        where = f"{source}: {key_path}: " if key_path else f"{source}: "
        super().__init__(where + self.problem)


# --------------------------------------------------------------------------- values


class _FromEnv(str):
    """A string substituted (wholly or partly) from the environment."""

    whole_ref: bool = False


class _Unresolved(str):
    """An environment reference left unresolved because its network is disabled."""


Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Bool = Annotated[bool, Strict()]


def _custom(kind: str, problem: str) -> PydanticCustomError:
    """Build a validation error whose message is ``problem`` verbatim (braces are safe)."""
    return PydanticCustomError(kind, "{problem}", {"problem": problem})


def _secret(value: object) -> SecretStr | None:
    """Accept only an environment reference for a secret, never the secret itself."""
    if value is None or isinstance(value, _Unresolved):
        return None
    if isinstance(value, SecretStr):
        return value
    if isinstance(value, _FromEnv) and value.whole_ref:
        return SecretStr(str(value)) if value else None
    raise _custom(
        "secret_literal",
        'secrets are never written into the file: use an environment reference such as "${NAME}"',
    )


Secret = Annotated[SecretStr | None, PlainValidator(_secret)]


def _zone(value: str) -> str:
    """Check that a time zone is a known IANA name."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: too long for a file name
        shown = value if len(value) <= 60 else f"{value[:60]}… ({len(value)} characters)"
        raise _custom(
            "timezone", f"unknown time zone {shown!r} (expected an IANA name such as Europe/Kirov)"
        ) from None
    return value


def _is_file(path: Path) -> bool:
    """Return whether ``path`` is a file; a path the system refuses (too long) is a config error."""
    try:
        return path.is_file()
    except OSError as err:
        raise _custom("path", f"not a usable file path ({err.strerror})") from None


Timezone = Annotated[str, AfterValidator(_zone)]


def _http_url(value: str) -> str:
    """Check an http(s) URL and drop a trailing slash."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _custom("url", "expected an http:// or https:// URL")
    return value.strip().rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_http_url)]


def _non_empty(value: str) -> str:
    if not value.strip():
        raise _custom("empty", "must not be empty")
    return value.strip()


Text = Annotated[str, AfterValidator(_non_empty)]


def _topic_name(value: str) -> str:
    """Drop the rubricator's ★ priority mark: topics are matched by their plain name."""
    return value.lstrip("★").strip() or value


TopicName = Annotated[Text, AfterValidator(_topic_name)]

_CODE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _code(value: str) -> str:
    if not _CODE.match(value):
        raise _custom(
            "code",
            f"{value!r} is not a code: use lower-case latin letters, digits, '.', '_' and '-'",
        )
    return value


Code = Annotated[str, AfterValidator(_code)]


# --------------------------------------------------------------------------- context


@dataclass(frozen=True, slots=True)
class _Context:
    """What validators need beyond the value itself."""

    base_dir: Path
    region: Region | None = None
    timezone: str | None = None
    schedules: Mapping[str, WeeklySchedule] = field(default_factory=dict)


def _ctx(info: ValidationInfo) -> _Context:
    context = info.context
    if not isinstance(context, _Context):
        raise _custom("context", "the configuration must be validated through load_config()")
    return context


def _resolve_municipality(value: object, info: ValidationInfo) -> Municipality:
    if isinstance(value, Municipality):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise _custom("municipality_type", "expected a municipality name, short name or OKTMO code")
    region = _ctx(info).region
    if region is None:
        raise _custom("context", "the region is not known")
    try:
        found = region.find_municipality(value)
    except AmbiguousMunicipalityError as err:
        raise _custom("municipality_ambiguous", str(err)) from None
    if found is None:
        raise _custom(
            "municipality_unknown",
            f"no municipality {value!r} in {region.name}: use its name, short name or OKTMO "
            f"code (the list is in classifier/data/regions/{region.code}.json)",
        )
    return found


def _municipality_or_any(value: object, info: ValidationInfo) -> Municipality | None:
    if value is None or value == "*":
        return None
    return _resolve_municipality(value, info)


MunicipalityRef = Annotated[Municipality, PlainValidator(_resolve_municipality)]
MunicipalityPattern = Annotated[Municipality | None, PlainValidator(_municipality_or_any)]


# --------------------------------------------------------------------------- schedules


@dataclass(frozen=True, slots=True, order=True)
class WorkInterval:
    """Working time within one day, in minutes from midnight; an overnight one ends past 1440."""

    start_minute: int
    end_minute: int

    @property
    def overnight(self) -> bool:
        """Whether the interval runs past midnight into the next day."""
        return self.end_minute > 24 * 60

    @property
    def minutes(self) -> int:
        """Return the length of the interval in minutes."""
        return self.end_minute - self.start_minute

    def __str__(self) -> str:
        """Return the interval as written in config.yaml, "HH:MM-HH:MM"."""
        end = self.end_minute if self.end_minute <= 24 * 60 else self.end_minute - 24 * 60
        return f"{_hhmm(self.start_minute)}-{_hhmm(end)}"


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


_TIME_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _parse_interval(text: str) -> WorkInterval:
    match = _TIME_RANGE.match(text)
    bad = _custom("time_range", f'"{text}" is not a time range (expected "HH:MM-HH:MM")')
    if not match:
        raise bad
    h1, m1, h2, m2 = (int(group) for group in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise bad
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end == start:
        raise _custom("time_range", f'"{text}" is an empty time range')
    if end < start:  # runs past midnight
        end += 24 * 60
    return WorkInterval(start, end)


def _day_intervals(value: object) -> tuple[WorkInterval, ...]:
    """Parse one day's working time: a list of "HH:MM-HH:MM" strings (empty: a day off)."""
    if value is None:
        return ()
    items: list[object]
    if isinstance(value, str):
        items = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise _custom("intervals_type", 'expected a list of "HH:MM-HH:MM" time ranges')
    intervals: list[WorkInterval] = []
    for item in items:
        if not isinstance(item, str):
            raise _custom(
                "intervals_type",
                f'expected a "HH:MM-HH:MM" time range, got {_describe_input(item)} '
                "(quote the range in YAML)",
            )
        intervals.append(_parse_interval(item))
    intervals.sort()
    for before, after in itertools.pairwise(intervals):
        if after.start_minute < before.end_minute:
            raise _custom("overlap", f'"{before}" and "{after}" overlap')
    return tuple(intervals)


def _day_keys(spec: str) -> tuple[str, ...]:
    """Expand a day key ("mon", "mon-thu") into weekday names."""
    key = spec.strip().lower()
    first, sep, last = key.partition("-")
    hint = "use mon, tue, wed, thu, fri, sat, sun or a range such as mon-thu"
    if first not in WEEKDAYS or (sep and last not in WEEKDAYS):
        raise _custom("day", f"{spec!r} is not a day: {hint}")
    if not sep:
        return (first,)
    start, end = WEEKDAYS.index(first), WEEKDAYS.index(last)
    if end <= start:
        raise _custom("day", f"{spec!r} is not a day range: ranges run forward, e.g. mon-fri")
    return WEEKDAYS[start : end + 1]


def _day_spec(spec: str) -> str:
    _day_keys(spec)
    return spec.strip().lower()


DaySpec = Annotated[str, AfterValidator(_day_spec)]
DayIntervals = Annotated[tuple[WorkInterval, ...], PlainValidator(_day_intervals)]


class WeeklySchedule(RootModel[dict[DaySpec, DayIntervals]]):
    """Working hours per weekday, written as day keys (mon, mon-thu) → "HH:MM-HH:MM" lists."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _one_definition_per_day(self) -> WeeklySchedule:
        seen: dict[str, str] = {}
        for spec in self.root:
            for day in _day_keys(spec):
                if day in seen:
                    raise _custom(
                        "day_twice", f"{day} is given twice: in {seen[day]!r} and {spec!r}"
                    )
                seen[day] = spec
        week = 7 * 24 * 60
        spans = sorted(
            (index * 24 * 60 + interval.start_minute, index * 24 * 60 + interval.end_minute, day)
            for index, day in enumerate(WEEKDAYS)
            for interval in self.day(index)
        )
        pairs = list(itertools.pairwise(spans))
        if spans:  # Sunday night running into Monday morning
            first = spans[0]
            pairs.append((spans[-1], (first[0] + week, first[1] + week, first[2])))
        for (_, end, day), (start, _, next_day) in pairs:
            if end > start:
                raise _custom(
                    "overlap", f"the working time of {day} runs into the working time of {next_day}"
                )
        return self

    def day(self, weekday: int) -> tuple[WorkInterval, ...]:
        """Return the working intervals of a weekday (0 = Monday), sorted."""
        name = WEEKDAYS[weekday]
        for spec, intervals in self.root.items():
            if name in _day_keys(spec):
                return intervals
        return ()

    @property
    def week(self) -> tuple[tuple[WorkInterval, ...], ...]:
        """Return the intervals of all seven weekdays, Monday first."""
        return tuple(self.day(index) for index in range(7))

    @property
    def weekly_minutes(self) -> int:
        """Return the working minutes in one week."""
        return sum(interval.minutes for day in self.week for interval in day)


def _named_schedule(value: object, info: ValidationInfo) -> object:
    if isinstance(value, str):
        schedules = _ctx(info).schedules
        if value not in schedules:
            known = ", ".join(sorted(schedules)) or "none"
            raise _custom("schedule_name", f"unknown schedule {value!r}; defined: {known}")
        return schedules[value]
    return value


def _schedule_name(value: str) -> str:
    if not re.match(r"^[a-z][a-z0-9_-]*$", value):
        raise _custom(
            "schedule_name", f"{value!r} is not a schedule name: use lower-case letters, digits"
        )
    return value


ScheduleName = Annotated[str, AfterValidator(_schedule_name)]


# --------------------------------------------------------------------------- sections


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegionConfig(_Section):
    """The region served: its reference data, name and time zone."""

    code: str
    name: Text
    timezone: Timezone

    @model_validator(mode="before")
    @classmethod
    def _defaults_from_region(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("code"), str):
            try:
                region = load_region(data["code"])
            except UnknownRegionError:
                return data
            data = dict(data)
            if data.get("name") is None:
                data["name"] = region.name
            if data.get("timezone") is None:
                data["timezone"] = region.timezone
        return data

    @field_validator("code")
    @classmethod
    def _known_region(cls, value: str) -> str:
        try:
            load_region(value)
        except UnknownRegionError as err:
            raise _custom("region", str(err)) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """Return the region's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def reference(self) -> Region:
        """Return the region's reference data (municipalities)."""
        return load_region(self.code)


# What storage.db.normalize_url accepts (it maps the PostgreSQL spellings to psycopg 3).
_SUPPORTED_DRIVERS = frozenset(
    {
        "sqlite",
        "sqlite+pysqlite",
        "postgresql",
        "postgres",
        "postgresql+psycopg",
        "postgresql+psycopg2",
    }
)


class DatabaseConfig(_Section):
    """Where incidents are stored."""

    url: str = Field(default=DEFAULT_DATABASE_URL, validate_default=True, repr=False)

    @field_validator("url")
    @classmethod
    def _absolute_url(cls, value: str, info: ValidationInfo) -> str:
        try:
            url = parse_database_url(value.strip())
        except InvalidDatabaseUrl:
            raise _custom(
                "database_url",
                "not a database URL (expected e.g. sqlite:///var/incident-management.db "
                "or postgresql+psycopg://user@host/db)",
            ) from None
        if url.drivername not in _SUPPORTED_DRIVERS:
            raise _custom(
                "database_backend",
                f"unsupported database {url.drivername!r}: use sqlite:///path/to/file.db "
                "or postgresql+psycopg://user@host/db",
            )
        return url.absolute_sqlite(_ctx(info).base_dir)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Show the URL with its password hidden."""
        yield "url", parse_database_url(self.url).with_password_hidden()


class WebConfig(_Section):
    """The web application: where it listens and how it is reached."""

    host: Text = "127.0.0.1"
    port: Int = Field(default=8080, ge=1, le=65535)
    public_url: HttpUrl | None = None
    session_secret: Secret = None
    # Processes serving HTTP on the port (SO_REUSEPORT); the first also runs the jobs.
    workers: Int = Field(default=1, ge=1, le=32)


def _at_most(limit: float, kind: str) -> AfterValidator:
    def check(value: float) -> float:
        if value <= 0:
            raise _custom("rate", f"must be above 0, got {value}")
        if value > limit:
            raise _custom(
                "rate",
                f"{value:g} is above VK's limit of {limit:g} requests per second for {kind} tokens",
            )
        return value

    return AfterValidator(check)


class VkRateLimits(_Section):
    """Requests per second allowed per VK token, by token kind; never above VK's limits."""

    user: Annotated[Float, _at_most(VK_RATE_LIMITS["user"], "user")] = 3
    service: Annotated[Float, _at_most(VK_RATE_LIMITS["service"], "service")] = 3
    community: Annotated[Float, _at_most(VK_RATE_LIMITS["community"], "community")] = 20


class VkToken(_Section):
    """One VK access token: a user, service or community key taken from the environment."""

    name: Code
    kind: Literal["user", "service", "community"]
    token: Secret


def _api_version(value: object) -> object:
    if isinstance(value, float):
        raise _custom(
            "api_version", 'write the version as a quoted string such as "5.199", not a number'
        )
    return value


class VkConfig(_Section):
    """VK: the API endpoint, version, tokens and rate limits."""

    enabled: Bool = True
    api_url: HttpUrl = "https://api.vk.com/method"
    api_version: Annotated[str, BeforeValidator(_api_version), Field(pattern=r"^\d+\.\d+$")] = (
        "5.199"
    )
    tokens: tuple[VkToken, ...] = ()
    requests_per_second: VkRateLimits = VkRateLimits()
    #: The region's keywords for ``newsfeed.search`` (empty: the search is off).
    search_keywords: tuple[Text, ...] = ()
    #: Seconds between two keyword searches.
    search_interval: Annotated[Int, Field(gt=0)] = 600


class OkConfig(_Section):
    """OK (Odnoklassniki): the API endpoint, the application's credentials and pacing."""

    enabled: Bool = True
    api_url: HttpUrl = "https://api.ok.ru/fb.do"
    application_key: Secret = None
    application_secret: Secret = None
    access_token: Secret = None
    #: Requests per second for the token (OK publishes no limit; about 1 is polite).
    requests_per_second: Annotated[Float, Field(gt=0, le=5)] = 1.0
    #: The zone OK's zone-less comment dates are read in.
    date_zone: Timezone = "Europe/Moscow"


class TelegramConfig(_Section):
    """Telegram: public channel previews to read, and an optional bot to notify executors."""

    enabled: Bool = True
    api_url: HttpUrl = "https://t.me"
    bot_api_url: HttpUrl = "https://api.telegram.org"
    bot_token: Secret = None
    #: Seconds between two preview pages of one channel (and its polling interval).
    page_interval: Annotated[Int, Field(ge=1)] = 60
    #: The User-Agent the preview pages are fetched with (a browser's).
    user_agent: Text = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    )


class NetworksConfig(_Section):
    """The social networks collected from."""

    vk: VkConfig = VkConfig()
    ok: OkConfig = OkConfig()
    telegram: TelegramConfig = TelegramConfig()


_GROUP = re.compile(r"^-?[A-Za-z0-9_.]+$")


def _group(value: object) -> object:
    """Reduce a group link, @name, screen name or id to the screen name or id."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        return value
    text = value.strip().removeprefix("@")
    if "/" in text:
        parts = urlsplit(text if "//" in text else "//" + text)
        segments = [s for s in parts.path.split("/") if s]
        if segments and segments[0] in ("s", "group"):
            segments = segments[1:]
        text = segments[0] if segments else ""
    if not _GROUP.match(text):
        raise _custom(
            "group", f"{value!r} is not a group link, screen name or id (e.g. vk.com/kirovreg)"
        )
    return text


class SourceConfig(_Section):
    """A public group or channel to collect posts and comments from."""

    network: Literal["vk", "ok", "telegram"]
    group: Annotated[str, BeforeValidator(_group)]
    name: Text | None = None
    municipality: MunicipalityRef | None = None
    poll_interval: Annotated[Int, Field(gt=0)] | None = None
    enabled: Bool = True


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise _custom("email", f"{value!r} is not an e-mail address")
    return value


def _chat(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and not re.match(r"^(-?\d+|@[A-Za-z0-9_]{4,})$", value.strip()):
        raise _custom("chat", f"{value!r} is not a Telegram chat id or @name")
    return value


Email = Annotated[str, AfterValidator(_email)]
#: What a recipient may be notified of: a new assignment, an at-risk or an overdue deadline.
NotifyEvent = Literal["assigned", "at_risk", "overdue"]
NOTIFY_EVENTS: tuple[NotifyEvent, ...] = ("assigned", "at_risk", "overdue")


class NotifyConfig(_Section):
    """Where an executor is told about new incidents and deadlines, besides its screen."""

    email: Email | None = None
    telegram_chat: Annotated[str, BeforeValidator(_chat)] | None = None
    webhook: HttpUrl | None = Field(default=None, repr=False)
    events: tuple[NotifyEvent, ...] = NOTIFY_EVENTS


class SupervisorsNotifyConfig(_Section):
    """Where the control centre's supervisors are told about deadlines at risk and overdue."""

    email: tuple[Email, ...] = ()
    webhook: HttpUrl | None = Field(default=None, repr=False)
    events: tuple[NotifyEvent, ...] = ("at_risk", "overdue")


class SmtpConfig(_Section):
    """The mail server notifications are sent through."""

    host: Text | None = None
    port: Int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: Text | None = None
    password: Secret = None
    from_address: Email = "cur@localhost.localdomain"
    timeout: Float = Field(default=30, gt=0, le=600)


class NotificationsConfig(_Section):
    """Notifications of executors and supervisors: channels, the outbox and its retries."""

    enabled: Bool = True
    interval: Int = Field(default=60, gt=0)
    smtp: SmtpConfig = SmtpConfig()
    webhook_timeout: Float = Field(default=10, gt=0, le=600)
    supervisors: SupervisorsNotifyConfig = SupervisorsNotifyConfig()
    deliver_outside_hours: Bool = False
    max_attempts: Int = Field(default=12, ge=1, le=1000)
    retry_base_seconds: Int = Field(default=60, gt=0)
    retry_max_seconds: Int = Field(default=3600, gt=0)


class FollowupConfig(_Section):
    """Watching a published answer's thread for the citizen's "не решено" or thanks."""

    enabled: Bool = True
    watch_days: Int = Field(default=7, ge=1, le=90)
    interval: Int = Field(default=900, gt=0)
    close_after_window: Bool = True
    thanks_from_citizen_only: Bool = True


class MetricsConfig(_Section):
    """Prometheus metrics at /metrics."""

    enabled: Bool = True


class LoggingConfig(_Section):
    """How the long-running commands log."""

    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class RetrainConfig(_Section):
    """The scheduled retraining on operators' labels and the re-classification after it."""

    enabled: Bool = True
    min_new_labels: Int = Field(default=20, ge=1)
    reclassify_interval: Int = Field(default=300, gt=0)
    reclassify_batch: Int = Field(default=500, ge=1, le=100_000)


class RetentionConfig(_Section):
    """Anonymising personal data (authors, texts) of messages past a configured age."""

    personal_data_days: Int | None = Field(default=None, ge=1)
    interval: Int = Field(default=86400, gt=0)
    batch: Int = Field(default=1000, ge=1, le=100_000)


class ExecutorConfig(_Section):
    """A body incidents are routed to: a regional ministry or a municipal administration."""

    code: Code
    name: Text
    kind: Literal["ministry", "municipal"]
    municipality: MunicipalityRef | None = None
    timezone: Timezone
    schedule: Annotated[WeeklySchedule, BeforeValidator(_named_schedule)]
    notify: NotifyConfig = NotifyConfig()

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if data.get("timezone") is None:
                data["timezone"] = _ctx(info).timezone
            data.setdefault("schedule", "standard")
        return data

    @property
    def zone(self) -> ZoneInfo:
        """Return the executor's time zone."""
        return ZoneInfo(self.timezone)


class JurisdictionRule(_Section):
    """Topic × municipality × level → executor; the first matching rule wins."""

    topic_group: Text = "*"
    topic: TopicName = "*"
    municipality: MunicipalityPattern = None
    level: Literal["regional", "municipal"] | None = None
    executor: Text


class JurisdictionConfig(_Section):
    """Routing of incidents to executors."""

    rules: tuple[JurisdictionRule, ...] = ()
    default: Text = TRIAGE
    auto_route_min_confidence: Float = Field(default=0.8, ge=0, le=1)


Priority = Literal["*", "low", "normal", "high", "urgent"]


class SlaOverride(_Section):
    """A different answer budget for some topics or priorities."""

    topic_group: Text = "*"
    topic: TopicName = "*"
    priority: Priority = "*"
    hours: Float = Field(gt=0, le=1000)


class SlaConfig(_Section):
    """Deadlines: working-hour budgets, the interim-answer budget and escalation."""

    default_hours: Float = Field(default=8, gt=0, le=1000)
    interim_days: Int = Field(default=7, ge=1, le=365)
    overrides: tuple[SlaOverride, ...] = ()
    at_risk_share: Float = Field(default=0.75, ge=0, le=1)
    escalate_outside_hours: Bool = False


_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._@-]*$")


def _login(value: str) -> str:
    if not _LOGIN.match(value):
        raise _custom(
            "login", f"{value!r} is not a login: use lower-case latin letters, digits and . _ - @"
        )
    return value


class UserConfig(_Section):
    """A user created at first start (``users bootstrap``), if missing."""

    login: Annotated[str, AfterValidator(_login)]
    name: Text
    role: Literal["operator", "executor", "supervisor", "admin"]
    executor: Code | None = None
    password: Secret = None


class SchedulerConfig(_Section):
    """How often the background jobs run, in seconds."""

    collect_interval: Int = Field(default=60, gt=0)
    classify_interval: Int = Field(default=30, gt=0)
    deadlines_interval: Int = Field(default=60, gt=0)
    retrain_interval: Int = Field(default=86400, gt=0)
    #: How long a process's lease on a source or a job lasts without renewal (renewed every
    #: third of it while the work runs).
    lease_seconds: Int = Field(default=60, ge=3)


class CollectorConfig(_Section):
    """How collection behaves: how far back the first poll of a new source reads."""

    backfill_days: Annotated[Float, Field(gt=0, le=3650)] | None = 7.0
    backfill_max_posts: Int = Field(default=1000, ge=1, le=100_000)


def _existing_file(value: object, info: ValidationInfo) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _custom("path", "expected a file path")
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = _ctx(info).base_dir / path
    if not _is_file(path):
        raise _custom("path", f"file not found: {path}")
    try:
        load_calendar([path])
    except CalendarError as err:
        raise _custom("calendar", f"not a valid calendar file: {err}") from None
    return path


def _resolved_path(value: object, info: ValidationInfo) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _custom("path", "expected a path")
    path = Path(value).expanduser()
    return path if path.is_absolute() else _ctx(info).base_dir / path


def _rubricator_file(value: object, info: ValidationInfo) -> Path | None:
    path = _resolved_path(value, info)
    if path is None:
        return None
    if not _is_file(path):
        raise _custom("path", f"file not found: {path}")
    try:
        load_rubricator(path)
    except RubricatorError as err:
        raise _custom("rubricator", f"not a valid rubricator: {err}") from None
    return path


class ClassifierConfig(_Section):
    """The classifier's taxonomy and model."""

    rubricator: Annotated[Path | None, PlainValidator(_rubricator_file)] = None
    model_dir: Annotated[Path | None, PlainValidator(_resolved_path)] = None


class Config(_Section):
    """The whole configuration: defaults < config.yaml < environment overrides."""

    region: RegionConfig
    database: DatabaseConfig = DatabaseConfig.model_construct(url=DEFAULT_DATABASE_URL)
    web: WebConfig = WebConfig()
    networks: NetworksConfig = NetworksConfig()
    schedules: dict[ScheduleName, WeeklySchedule] = Field(default_factory=dict)
    sources: tuple[SourceConfig, ...] = ()
    executors: tuple[ExecutorConfig, ...] = ()
    jurisdiction: JurisdictionConfig = JurisdictionConfig()
    sla: SlaConfig = SlaConfig()
    users: tuple[UserConfig, ...] = ()
    scheduler: SchedulerConfig = SchedulerConfig()
    collector: CollectorConfig = CollectorConfig()
    calendar: Annotated[Path | None, PlainValidator(_existing_file)] = None
    classifier: ClassifierConfig = ClassifierConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    followup: FollowupConfig = FollowupConfig()
    metrics: MetricsConfig = MetricsConfig()
    logging: LoggingConfig = LoggingConfig()
    retrain: RetrainConfig = RetrainConfig()
    retention: RetentionConfig = RetentionConfig()

    def executor(self, code: str) -> ExecutorConfig | None:
        """Return the executor with this code, if defined."""
        return next((e for e in self.executors if e.code == code), None)

    def municipal_executor(self, oktmo: str) -> ExecutorConfig | None:
        """Return the municipal executor of the municipality with this OKTMO code, if any."""
        return next(
            (
                e
                for e in self.executors
                if e.kind == "municipal" and e.municipality and e.municipality.oktmo == oktmo
            ),
            None,
        )


# --------------------------------------------------------------------------- loading


def format_key_path(loc: Path_) -> str:
    """Render a location such as ("executors", 3, "mon") as executors[3].mon."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


if TYPE_CHECKING:
    _LoaderBase = yaml.SafeLoader
else:
    _LoaderBase = object


class _DuplicateKeys(_LoaderBase):
    """A safe YAML loader's mix-in that refuses a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first given at line {first.start_mark.line + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]


class _DuplicateKeyLoader(_DuplicateKeys, yaml.SafeLoader):
    """The pure-Python safe loader, whose error messages the configuration's errors quote."""


# libyaml's parser reads a configuration ~10x faster; its errors are worded otherwise, so a
# file it refuses is read again by the pure-Python loader for the message.
_FastLoader: type[Any] = (
    type("_FastLoader", (_DuplicateKeys, yaml.CSafeLoader), {})
    if getattr(yaml, "__with_libyaml__", False)
    else _DuplicateKeyLoader
)


def _parse_yaml(text: str) -> Any:
    """Parse a YAML text with the fast loader; raise what the pure-Python one raises."""
    try:
        return yaml.load(text, Loader=_FastLoader)  # noqa: S506 - a CSafeLoader subclass
    except yaml.YAMLError:
        pass
    return yaml.load(text, Loader=_DuplicateKeyLoader)  # noqa: S506 - a SafeLoader subclass


_ENV_REF = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_ENV_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(:-)?$")


def _describe_input(value: object) -> str:
    if isinstance(value, _FromEnv | _Unresolved):
        return "a value from the environment"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 60 else "a long string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional from a type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        else:
            return annotation


def _model_at(loc: Path_) -> Any:
    """Return the type found at a location of the config, or None."""
    current: Any = Config
    for part in loc:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if isinstance(part, int):
            if origin not in (tuple, list):
                return None
            current = typing.get_args(current)[0]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(part)
            if info is None:
                return None
            current = info.annotation
        elif origin is dict:
            current = typing.get_args(current)[1]
        else:
            return None
    return _unwrap(current)


def _unknown_key(loc: Path_) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    known = (
        list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []
    )
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}?"
    if known:
        return f"unknown key {key!r}; known keys here: {', '.join(known)}"
    return f"unknown key {key!r}"


_TYPE_WORDS = {
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "dict_type": "expected a mapping",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "string_type": "expected a string",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
}


def _problem(error: ErrorDetails) -> str:
    kind = error["type"]
    loc = tuple(error["loc"])
    got = _describe_input(error.get("input"))
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind in _TYPE_WORDS:
        return f"{_TYPE_WORDS[kind]}, got {got}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"expected {expected}, got {got}"
    if kind == "string_pattern_mismatch":
        return f"{got} does not have the expected form"
    problem = error.get("ctx", {}).get("problem")
    if isinstance(problem, str):
        return problem
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        message = message.replace("Input should be", "must be") + f", got {got}"
    return message[:1].lower() + message[1:]


@dataclass
class _Loader:
    """One loading run: the file name for messages and what the environment contributed."""

    source: str
    env: Mapping[str, str]
    env_values: set[str] = field(default_factory=set)
    overridden: dict[Path_, str] = field(default_factory=dict)

    def fail(self, problem: str, loc: Path_ = ()) -> NoReturn:
        """Raise the one-line error, with environment values scrubbed out."""
        for value in sorted(self.env_values, key=len, reverse=True):
            if len(value) >= 4:
                problem = problem.replace(value, "***")
        key_path = format_key_path(loc)
        for prefix, variable in self.overridden.items():
            if loc[: len(prefix)] == prefix:
                key_path += f" (from {variable})"
                break
        raise ConfigError(self.source, problem, key_path)

    def fail_validation(self, err: ValidationError, prefix: Path_ = ()) -> NoReturn:
        """Report the first validation error with its key path."""
        error = err.errors()[0]
        loc = tuple(part for part in error["loc"] if part != "[key]")
        self.fail(_problem(error), prefix + loc)

    def substitute(self, node: Any, loc: Path_, disabled: bool = False) -> Any:
        """Replace ${NAME} references with environment values, walking the whole tree."""
        if isinstance(node, dict):
            result: dict[str, Any] = {}
            for key, value in node.items():
                if not isinstance(key, str):
                    self.fail(f"key {key!r} is not a string (quote it)", loc)
                off = disabled or (
                    len(loc) == 1
                    and loc[0] == "networks"
                    and isinstance(value, dict)
                    and value.get("enabled") is False
                )
                result[key] = self.substitute(value, (*loc, key), off)
            return result
        if isinstance(node, list):
            return [
                self.substitute(item, (*loc, index), disabled) for index, item in enumerate(node)
            ]
        if isinstance(node, str) and "$" in node:
            return self._substitute_text(node, loc, disabled)
        return node

    def _substitute_text(self, text: str, loc: Path_, disabled: bool) -> str:
        refs = 0
        unresolved = False

        def replace(match: re.Match[str]) -> str:
            nonlocal refs, unresolved
            if match.group(0) == "$$":
                return "$"
            inner = match.group(1)
            name = _ENV_NAME.match(inner or "")
            if inner is None or name is None:
                self.fail(
                    f"malformed environment reference {match.group(0)!r}: "
                    'write "${NAME}", "${NAME:-}" for an optional one, or "$$" for a dollar sign',
                    loc,
                )
            refs += 1
            variable, optional = name.group(1), name.group(2)
            value = self.env.get(variable)
            if value is None or value == "":
                if optional:
                    return ""
                if disabled:
                    unresolved = True
                    return ""
                state = "is not set" if value is None else "is empty"
                self.fail(f"environment variable {variable} {state}", loc)
            self.env_values.add(value)
            return value

        replaced = _ENV_REF.sub(replace, text)
        if unresolved:
            return _Unresolved(text)
        if not refs:
            return replaced
        result = _FromEnv(replaced)
        result.whole_ref = bool(re.fullmatch(r"\$\{[^}]*\}", text.strip()))
        return result

    def apply_overrides(self, data: dict[str, Any]) -> None:
        """Put the IM_* environment overrides over the file's values."""
        for variable, loc in ENV_OVERRIDES.items():
            value = self.env.get(variable)
            if not value:
                continue
            node = data
            for part in loc[:-1]:
                child = node.get(part)
                if child is None:
                    child = node[part] = {}
                if not isinstance(child, dict):
                    break  # the wrong type is reported by validation
                node = child
            else:
                node[loc[-1]] = value
                self.overridden[loc] = variable
                # An API base URL is no secret, and scrubbing a short one ("http://") would garble
                # the message about it; the database URL, or a URL with credentials, may hold one.
                if variable == "IM_DATABASE_URL" or "@" in value:
                    self.env_values.add(value)

    def read(self, path: Path) -> dict[str, Any]:
        """Read and parse the YAML file into a mapping."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.fail("file not found")
        except IsADirectoryError:
            self.fail("is a directory, not a file")
        except PermissionError:
            self.fail("cannot read the file: permission denied")
        except UnicodeDecodeError as err:
            self.fail(f"not UTF-8 text (invalid byte at offset {err.start})")
        except OSError as err:
            self.fail(f"cannot read the file: {err.strerror or err}")
        try:
            data = _parse_yaml(text)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            self.fail(f"invalid YAML{where}: {err.problem or err.context}")
        except yaml.YAMLError as err:
            self.fail(f"invalid YAML: {err}")
        if data is None:
            self.fail("the file is empty: expected a mapping of sections, at least 'region'")
        if not isinstance(data, dict):
            self.fail(
                "the top level must be a mapping of sections (region, database, ...), "
                f"got {_describe_input(data)}"
            )
        return data


def _validate_schedules(raw: Any, loader: _Loader, base_dir: Path) -> dict[str, WeeklySchedule]:
    adapter = TypeAdapter(dict[ScheduleName, WeeklySchedule])
    try:
        return adapter.validate_python(raw, context=_Context(base_dir=base_dir))
    except ValidationError as err:
        loader.fail_validation(err, ("schedules",))


def load_config(path: Path, env: Mapping[str, str]) -> Config:
    """Load and validate the configuration file, applying the environment over it.

    Args:
        path: the YAML file; relative paths inside it resolve against its directory.
        env: the environment (``os.environ`` in production): ``${NAME}`` references and the
            ``IM_*`` overrides listed in ``ENV_OVERRIDES`` are read from it, nothing else.

    Returns:
        The frozen configuration.

    Raises:
        ConfigError: with a one-line message naming the file, the key path and the problem.
    """
    loader = _Loader(source=str(path), env=env)
    data = loader.read(path)
    base_dir = path.resolve().parent
    loader.apply_overrides(data)
    data = loader.substitute(data, ())
    data = {key: value for key, value in data.items() if value is not None}
    data.setdefault("database", {})

    if "region" not in data:
        loader.fail("required section is missing (e.g. region: {code: kirov})", ("region",))
    try:
        region = RegionConfig.model_validate(data["region"], context=_Context(base_dir))
    except ValidationError as err:
        loader.fail_validation(err, ("region",))

    raw_schedules = data.get("schedules")
    if raw_schedules is None:
        raw_schedules = {}
    if isinstance(raw_schedules, dict) and "standard" not in raw_schedules:
        raw_schedules = {"standard": dict(STANDARD_SCHEDULE), **raw_schedules}
    schedules = _validate_schedules(raw_schedules, loader, base_dir)
    data["schedules"] = raw_schedules

    context = _Context(
        base_dir=base_dir,
        region=region.reference,
        timezone=region.timezone,
        schedules=schedules,
    )
    try:
        config = Config.model_validate(data, context=context)
    except ValidationError as err:
        loader.fail_validation(err)
    _check_references(config, loader)
    _check_topics(config, loader)
    return config


def _duplicates(values: list[str]) -> Iterator[tuple[int, int]]:
    """Yield (first index, repeated index) for each value seen before."""
    first: dict[str, int] = {}
    for index, value in enumerate(values):
        if value in first:
            yield first[value], index
        else:
            first[value] = index


def _check_references(config: Config, loader: _Loader) -> None:
    """Check what single sections cannot: uniqueness and references between sections."""
    for first, again in _duplicates([f"{s.network}:{s.group.lower()}" for s in config.sources]):
        loader.fail(
            f"the same group is already listed as sources[{first}]", ("sources", again, "group")
        )

    vk = config.networks.vk
    for first, again in _duplicates([t.name for t in vk.tokens]):
        loader.fail(
            f"token name is already used by tokens[{first}]",
            ("networks", "vk", "tokens", again, "name"),
        )
    for index, token in enumerate(vk.tokens):
        if vk.enabled and token.token is None:
            loader.fail(
                "VK is enabled but the token is empty", ("networks", "vk", "tokens", index, "token")
            )

    used = {s.network for s in config.sources if s.enabled}
    if vk.enabled and "vk" in used and not any(t.kind in ("user", "service") for t in vk.tokens):
        loader.fail(
            "VK is enabled and sources use it, but no user or service token is configured "
            "(community tokens cannot read walls); add one or set networks.vk.enabled: false",
            ("networks", "vk", "tokens"),
        )
    ok = config.networks.ok
    if ok.enabled and "ok" in used:
        for key in ("application_key", "application_secret", "access_token"):
            if getattr(ok, key) is None:
                loader.fail(
                    "OK is enabled and sources use it, so this credential is required "
                    "(or set networks.ok.enabled: false)",
                    ("networks", "ok", key),
                )

    codes = [e.code for e in config.executors]
    for first, again in _duplicates(codes):
        loader.fail(
            f"executor code {codes[again]!r} is already used by executors[{first}]",
            ("executors", again, "code"),
        )
    municipal_of: dict[str, int] = {}
    for index, executor in enumerate(config.executors):
        loc: Path_ = ("executors", index, "municipality")
        if executor.kind == "municipal":
            if executor.municipality is None:
                loader.fail("required for a municipal executor", loc)
            oktmo = executor.municipality.oktmo
            if oktmo in municipal_of:
                loader.fail(
                    f"{executor.municipality.name} already has a municipal executor: "
                    f"executors[{municipal_of[oktmo]}]",
                    loc,
                )
            municipal_of[oktmo] = index
        elif executor.municipality is not None:
            loader.fail("only municipal executors have a municipality", loc)

    known = set(codes)
    for index, rule in enumerate(config.jurisdiction.rules):
        loc = ("jurisdiction", "rules", index, "executor")
        if rule.executor == MUNICIPAL_EXECUTOR:
            if rule.municipality is not None and rule.municipality.oktmo not in municipal_of:
                loader.fail(
                    f"{MUNICIPAL_EXECUTOR} routes to the municipality's administration, but no "
                    f"municipal executor is defined for {rule.municipality.name}",
                    loc,
                )
        elif rule.executor not in known:
            loader.fail(_undefined_executor(rule.executor, codes), loc)
    default = config.jurisdiction.default
    if default != TRIAGE and default not in known:
        loader.fail(
            _undefined_executor(default, codes) + f" (or use {TRIAGE!r})",
            ("jurisdiction", "default"),
        )

    logins = [u.login for u in config.users]
    for first, again in _duplicates(logins):
        loader.fail(f"login is already used by users[{first}]", ("users", again, "login"))
    for index, user in enumerate(config.users):
        loc = ("users", index, "executor")
        if user.role == "executor" and user.executor is None:
            loader.fail("required for a user with role 'executor'", loc)
        if user.role != "executor" and user.executor is not None:
            loader.fail(
                f"only users with role 'executor' belong to an executor (role is {user.role!r})",
                loc,
            )
        if user.executor is not None and user.executor not in known:
            loader.fail(_undefined_executor(user.executor, codes), loc)


def _check_topics(config: Config, loader: _Loader) -> None:
    """Check that rules and SLA overrides name topic groups and topics of the rubricator."""
    rubricator = load_rubricator(config.classifier.rubricator)
    where: list[tuple[Path_, str, str]] = []
    for i, rule in enumerate(config.jurisdiction.rules):
        where.append((("jurisdiction", "rules", i), rule.topic_group, rule.topic))
    for i, override in enumerate(config.sla.overrides):
        where.append((("sla", "overrides", i), override.topic_group, override.topic))
    for loc, group, topic in where:
        if group != "*" and not rubricator.has_group(group):
            close = difflib.get_close_matches(group, rubricator.groups, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            loader.fail(
                f"{group!r} is not a topic group of the rubricator{hint}", (*loc, "topic_group")
            )
        if topic == "*":
            continue
        if not rubricator.has_topic(topic):
            names = [t.name for t in rubricator.topics]
            close = difflib.get_close_matches(topic, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            loader.fail(f"{topic!r} is not a topic of the rubricator{hint}", (*loc, "topic"))
        actual = rubricator.group_of(topic)
        if group != "*" and actual != group:
            loader.fail(f"topic {topic!r} belongs to {actual!r}, not {group!r}", (*loc, "topic"))


def _undefined_executor(code: str, codes: list[str]) -> str:
    close = difflib.get_close_matches(code, codes, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"executor {code!r} is not defined in executors{hint}"
