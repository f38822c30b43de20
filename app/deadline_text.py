"""A deadline's explanation in Russian, step by step, for the incident page.

``router.sla.explain_clock`` gives the structure (segments used, the days counted and skipped);
this module words it for operators and executors, in the executor's time zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from router.sla import ClockExplanation, Phase
from router.working_time import SkipReason, StepKind

__all__ = ["explanation_lines"]

_WEEKDAYS = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
_SKIPS = {
    SkipReason.WEEKEND: "выходной",
    SkipReason.HOLIDAY: "праздник",
    SkipReason.TRANSFERRED_DAY_OFF: "перенесённый выходной",
    SkipReason.NON_WORKING_DAY: "нерабочий день",
    SkipReason.NO_SCHEDULED_HOURS: "нет часов по графику",
    SkipReason.BEFORE_START: "до начала отсчёта",
    SkipReason.ALREADY_COUNTED: "уже учтён",
}


def _duration(value: timedelta) -> str:
    minutes = round(value / timedelta(minutes=1))
    hours, rest = divmod(abs(minutes), 60)
    sign = "−" if minutes < 0 else ""
    if hours and rest:
        return f"{sign}{hours} ч {rest} мин"
    if hours:
        return f"{sign}{hours} ч"
    return f"{sign}{rest} мин"


def explanation_lines(explained: ClockExplanation) -> list[str]:
    """Return the explanation in Russian, one step per line, times in the executor's zone."""
    clock = explained.clock
    zone = ZoneInfo(explained.timezone)

    def local(value: datetime) -> str:
        return value.astimezone(zone).strftime("%d.%m.%Y %H:%M")

    phase = "первичный срок" if clock.phase is Phase.INITIAL else "после промежуточного ответа"
    out = [
        f"Получено {local(clock.received_at)} ({explained.timezone}); {phase} "
        f"с {local(clock.phase_started_at)}",
        f"Норматив: {_duration(clock.budget)} рабочего времени ({clock.budget_reason})",
    ]
    for segment, spent in explained.segments_used:
        end = local(segment.end) if segment.end else "…"
        out.append(f"Срок шёл {local(segment.start)} – {end}: израсходовано {_duration(spent)}")
    if clock.stopped_at is not None:
        out.append(f"Отсчёт остановлен {local(clock.stopped_at)}")
    steps = explained.remaining_explained
    if steps is None:
        if clock.stopped_at is None:
            out.append("Отсчёт приостановлен: срок не идёт, пока исполнитель ждёт уточнения")
        return out
    out.append(f"С {local(steps.start)} осталось {_duration(steps.budget)} рабочего времени")
    for step in steps.steps:
        head = f"{step.date.strftime('%d.%m')} {_WEEKDAYS[step.date.weekday()]}"
        if step.kind is StepKind.SKIPPED:
            why = _SKIPS.get(step.reason, step.detail) if step.reason else step.detail
            out.append(f"{head}: не засчитан — {why}")
            continue
        parts = ", ".join(
            f"{iv.start.astimezone(zone).strftime('%H:%M')}–{iv.end.astimezone(zone).strftime('%H:%M')}"
            for iv in step.intervals
        )
        left = (
            "норматив исчерпан" if not step.remaining else f"осталось {_duration(step.remaining)}"
        )
        out.append(f"{head}: засчитано {parts} = {_duration(step.counted)}; {left}")
    out.append(f"Срок ответа: {local(steps.deadline)}")
    return out
