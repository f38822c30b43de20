"""The deadline explanation in Russian: days counted and skipped, pauses, the deadline."""

from __future__ import annotations

from datetime import timedelta

from app.deadline_text import explanation_lines
from router.sla import Budget, explain_clock, pause, start_clock
from tests.factories import HOURS_A, kirov


def test_a_deadline_over_a_weekend_is_explained_day_by_day() -> None:
    received = kirov("2025-10-17T16:00")  # a Friday
    clock = start_clock(received, Budget(timedelta(hours=8), "норматив по умолчанию"), HOURS_A)
    lines = explanation_lines(explain_clock(clock, HOURS_A))
    assert lines[0].startswith("Получено 17.10.2025 16:00 (Europe/Kirov); первичный срок")
    assert lines[1] == "Норматив: 8 ч рабочего времени (норматив по умолчанию)"
    assert "17.10 пт: засчитано 16:00–18:00 = 2 ч; осталось 6 ч" in lines
    assert "18.10 сб: не засчитан — выходной" in lines
    assert "19.10 вс: не засчитан — выходной" in lines
    assert "20.10 пн: засчитано 09:00–13:00, 14:00–16:00 = 6 ч; норматив исчерпан" in lines
    assert lines[-1] == "Срок ответа: 20.10.2025 16:00"


def test_a_paused_clock_says_the_deadline_waits() -> None:
    received = kirov("2025-10-14T10:00")
    clock = start_clock(received, Budget(timedelta(hours=8), "по умолчанию"), HOURS_A)
    paused = pause(clock, kirov("2025-10-14T11:30"))
    lines = explanation_lines(explain_clock(paused, HOURS_A))
    assert "Срок шёл 14.10.2025 10:00 – 14.10.2025 11:30: израсходовано 1 ч 30 мин" in lines
    assert lines[-1].startswith("Отсчёт приостановлен")
