"""Build the router's jurisdiction rules, SLA policy and working hours from the configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType

from app.config import Config, SlaConfig
from app.config import WeeklySchedule as ConfigSchedule
from router.calendar import ProductionCalendar, load_calendar
from router.jurisdiction import ANY, Jurisdiction, Rule
from router.sla import BudgetOverride, SlaPolicy, WorkingHours
from router.working_time import WeeklySchedule, WorkInterval

__all__ = [
    "REGION_SCHEDULE",
    "Routing",
    "build_jurisdiction",
    "build_routing",
    "build_sla_policy",
    "load_region_calendar",
    "to_weekly_schedule",
]

#: The schedule the region's own clocks (the incident's overall clock, supervisors) count in.
REGION_SCHEDULE = "standard"


def to_weekly_schedule(schedule: ConfigSchedule) -> WeeklySchedule:
    """Convert a configured weekly schedule into the router's."""
    return WeeklySchedule(
        tuple(
            tuple(WorkInterval(iv.start_minute, iv.end_minute) for iv in day)
            for day in schedule.week
        )
    )


def build_jurisdiction(config: Config) -> Jurisdiction:
    """Build the ordered rules, the default and the municipal executors from ``jurisdiction``."""
    section = config.jurisdiction
    rules = tuple(
        Rule(
            executor=rule.executor,
            topic_group=rule.topic_group,
            topic=rule.topic,
            municipality_oktmo=rule.municipality.oktmo if rule.municipality else ANY,
            level=rule.level,
        )
        for rule in section.rules
    )
    municipal = {
        executor.municipality.oktmo: executor.code
        for executor in config.executors
        if executor.kind == "municipal" and executor.municipality is not None
    }
    return Jurisdiction(
        rules,
        default=section.default,
        min_confidence=section.auto_route_min_confidence,
        municipal_executors=MappingProxyType(municipal),
    )


def build_sla_policy(sla: SlaConfig) -> SlaPolicy:
    """Build the SLA policy (budgets, overrides in order, interim days, at-risk share)."""
    return SlaPolicy(
        default_budget=timedelta(hours=sla.default_hours),
        overrides=tuple(
            BudgetOverride(
                hours=o.hours,
                topic_group=o.topic_group,
                topic=o.topic,
                priority=o.priority,
                id=f"sla.overrides[{index}]",
            )
            for index, o in enumerate(sla.overrides)
        ),
        interim_days=sla.interim_days,
        at_risk_share=sla.at_risk_share,
    )


def load_region_calendar(config: Config) -> ProductionCalendar:
    """Load the shipped production calendar with the configured extra file, if any."""
    return load_calendar([config.calendar] if config.calendar else [])


@dataclass(frozen=True, slots=True)
class Routing:
    """Everything routing and deadlines need, built once from the configuration."""

    jurisdiction: Jurisdiction
    policy: SlaPolicy
    calendar: ProductionCalendar
    executor_hours: Mapping[str, WorkingHours]
    region_hours: WorkingHours
    escalate_outside_hours: bool

    def hours_of(self, executor: str) -> WorkingHours:
        """Return an executor's working hours (the region's for an executor not configured)."""
        return self.executor_hours.get(executor, self.region_hours)


def build_routing(config: Config, calendar: ProductionCalendar | None = None) -> Routing:
    """Build the jurisdiction, SLA policy and every executor's working hours."""
    cal = load_region_calendar(config) if calendar is None else calendar
    hours = {
        executor.code: WorkingHours(to_weekly_schedule(executor.schedule), cal, executor.timezone)
        for executor in config.executors
    }
    region = WorkingHours(
        to_weekly_schedule(config.schedules[REGION_SCHEDULE]), cal, config.region.timezone
    )
    return Routing(
        jurisdiction=build_jurisdiction(config),
        policy=build_sla_policy(config.sla),
        calendar=cal,
        executor_hours=MappingProxyType(hours),
        region_hours=region,
        escalate_outside_hours=config.sla.escalate_outside_hours,
    )
