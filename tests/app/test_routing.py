"""Test building the router's objects from the configuration (the shipped Kirov config)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.config import MUNICIPAL_EXECUTOR, TRIAGE, Config, load_config
from app.routing import build_routing, to_weekly_schedule
from router.jurisdiction import MUNICIPAL, RoutingSubject
from router.jurisdiction import TRIAGE as ROUTER_TRIAGE
from router.working_time import format_schedule

SHIPPED = Path(__file__).resolve().parents[2] / "config.yaml"
SLOBODSKOY = "33713000"
KIROV_CITY = "33701000"


@pytest.fixture(scope="module")
def config() -> Config:
    """The shipped configuration."""
    return load_config(SHIPPED, {})


def test_config_and_router_agree_on_placeholders() -> None:
    assert MUNICIPAL_EXECUTOR == MUNICIPAL
    assert TRIAGE == ROUTER_TRIAGE


def test_rules_keep_their_order_and_resolve_municipal(config: Config) -> None:
    routing = build_routing(config)
    rules = routing.jurisdiction.rules
    assert len(rules) == len(config.jurisdiction.rules)
    assert rules[0].executor == "dorkom"
    assert rules[0].level == "regional"
    assert routing.jurisdiction.min_confidence == config.jurisdiction.auto_route_min_confidence
    road = routing.jurisdiction.route(RoutingSubject("Дороги", "Ямы", SLOBODSKOY, None, 0.9, 0.9))
    assert road.executor == "adm-city-slobodskoy"
    assert road.rule_id == "rules[1]"
    bus = routing.jurisdiction.route(
        RoutingSubject("Общественный транспорт", None, KIROV_CITY, None, 0.9, 0.9)
    )
    assert bus.executor == "adm-city-kirov"


def test_sla_policy_from_config(config: Config) -> None:
    policy = build_routing(config).policy
    assert policy.default_budget == timedelta(hours=8)
    assert policy.budget_for("Дороги", "Ямы", "urgent").duration == timedelta(hours=4)
    assert policy.budget_for("Дороги", "Ямы", "urgent").reason.startswith("sla.overrides[0]")
    assert policy.interim_days == 7
    assert policy.at_risk_share == 0.75


def test_executor_hours_follow_the_standard_schedule(config: Config) -> None:
    routing = build_routing(config)
    hours = routing.hours_of("minzdrav")
    assert format_schedule(hours.schedule) == (
        "mon-thu=08:00-12:00,12:48-17:00;fri=08:00-12:00,12:48-16:00"
    )
    assert hours.timezone == "Europe/Kirov"
    start = datetime(2025, 10, 14, 8, 0, tzinfo=ZoneInfo("Europe/Kirov"))
    assert hours.add(start, timedelta(hours=8)) == datetime(
        2025, 10, 14, 16, 48, tzinfo=ZoneInfo("Europe/Kirov")
    )
    assert routing.hours_of("unknown") is routing.region_hours
    assert to_weekly_schedule(config.schedules["standard"]) == hours.schedule
