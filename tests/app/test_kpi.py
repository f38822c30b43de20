"""KPIs rebuilt from the log of a scripted scenario, through the real workflow, on both engines.

Every figure is checked against values worked out by hand (schedule A: Mon–Fri 09–13, 14–18
in Kirov, 8 working hours a day; the week of Monday 13 October 2025). The scenario:

- I1 (health, Slobodskoy, VK): minzdrav by rules[0] Mon 10:00, final answer Mon 15:00 (4 wh,
  5 h; due Tue 10:00: on time), published, reopened by the citizen Tue 11:00, assigned to
  minzdrav again Tue 12:00 (due Wed 12:00) and left open: that assignment is overdue.
- I2 (roads, Slobodskoy, OK): minzdrav by rules[0] Mon 11:00, "не наш" Mon 12:00; mintrans by
  hand Mon 14:00, interim Tue 10:00, final Thu 16:00 (inside the interim budget: on time).
- I3 (health, Kirov, Telegram): minzdrav Tue 09:00 (due Wed 09:00), final Wed 12:00 (late),
  sent for rework Wed 14:00, final again Thu 10:00 (late).
- I4 (health, Slobodskoy, VK): minzdrav Thu 09:00 (due Thu 18:00), never answered: late.
- I5 (health, Slobodskoy, VK): minzdrav Fri 14:00 (due Mon 14:00), open: not yet decided.
- I6 rejected without an assignment; I7 assigned the Friday before the period: neither counts.

The figures are taken as of Fri 17 Oct 18:00; I4 and I5 are answered after that, which must not
change them.
"""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.dashboards import KpiService
from app.kpi import Dimension, KpiReport, KpiRow, Period, kpi_tables, percentile
from app.permissions import Actor, Role
from app.workflow import ReturnKind
from storage.enums import MessageKind, Network
from storage.models import IncidentMessage, Message, Source
from storage.repositories import IncidentRecord
from tests.factories import SLOBODSKOY, World, kirov, new_incident, world

KIROV_CITY = "33701000"
SYSTEM = Actor(Role.SYSTEM)
AS_OF = kirov("2025-10-17T18:00")
PERIOD = Period(kirov("2025-10-13T00:00"), kirov("2025-10-20T00:00"))


def _link(sm: sessionmaker[Session], incident_id: int, network: Network) -> None:
    """Give the incident a first message from a source of ``network``."""
    with sm.begin() as session:
        source = Source(network=network, external_id=f"g{incident_id}", title="Группа")
        session.add(source)
        session.flush()
        message = Message(
            network=network,
            source_id=source.id,
            external_id=f"p{incident_id}",
            kind=MessageKind.POST,
            text="Третий день нет воды 😡",
            posted_at=kirov("2025-10-13T08:00"),
        )
        session.add(message)
        session.flush()
        session.add(
            IncidentMessage(incident_id=incident_id, message_id=message.id, grouping_version="t")
        )


def _open(w: World, topic: str, oktmo: str, name: str, network: Network) -> IncidentRecord:
    new = dataclasses.replace(
        new_incident(topic_group=topic), municipality_oktmo=oktmo, municipality=name
    )
    incident = w.workflow.open_incident(new)
    _link(w.sm, incident.id, network)
    return incident


def scenario(url: str) -> World:
    """Play the scenario of the module's docstring; the clock ends on Mon 20 Oct."""
    w = world(url, start=kirov("2025-10-10T10:00"))
    wf = w.workflow
    health, roads = "Здравоохранение", "Дороги"
    i7 = _open(w, health, SLOBODSKOY, "Слободской", Network.VK)
    i7 = wf.assign(i7, "minzdrav", w.operator, rule_id="rules[0]")

    w.clock.set(kirov("2025-10-13T09:00"))
    i1 = _open(w, health, SLOBODSKOY, "Слободской", Network.VK)
    i2 = _open(w, roads, SLOBODSKOY, "Слободской", Network.OK)
    i3 = _open(w, health, KIROV_CITY, "Киров", Network.TELEGRAM)
    i4 = _open(w, health, SLOBODSKOY, "Слободской", Network.VK)
    i5 = _open(w, health, SLOBODSKOY, "Слободской", Network.VK)
    i6 = _open(w, health, SLOBODSKOY, "Слободской", Network.VK)
    wf.reject(i6, w.operator, "Реклама")

    w.clock.set(kirov("2025-10-13T10:00"))
    i1 = wf.assign(i1, "minzdrav", w.operator, rule_id="rules[0]")
    w.clock.set(kirov("2025-10-13T10:30"))
    i7 = wf.accept(i7, w.minzdrav)
    i7 = wf.answer(i7, w.minzdrav, "Запись открыта")
    w.clock.set(kirov("2025-10-13T11:00"))
    i2 = wf.assign(i2, "minzdrav", w.operator, rule_id="rules[0]")
    i1 = wf.accept(i1, w.minzdrav)
    w.clock.set(kirov("2025-10-13T12:00"))
    i2 = wf.return_(i2, w.minzdrav, "Не наш вопрос: дороги", ReturnKind.NOT_OURS)
    w.clock.set(kirov("2025-10-13T14:00"))
    i2 = wf.assign(i2, "mintrans", w.operator)
    i2 = wf.accept(i2, w.mintrans)
    w.clock.set(kirov("2025-10-13T15:00"))
    i1 = wf.answer(i1, w.minzdrav, "Запись к терапевту открыта на 15.10")
    i1 = wf.approve(i1, w.operator)
    w.clock.set(kirov("2025-10-13T16:00"))
    i1 = wf.publish(i1, SYSTEM, external_reply_id="r1")

    w.clock.set(kirov("2025-10-14T09:00"))
    i3 = wf.assign(i3, "minzdrav", w.operator, rule_id="rules[0]")
    i3 = wf.accept(i3, w.minzdrav)
    w.clock.set(kirov("2025-10-14T10:00"))
    i2 = wf.answer(i2, w.mintrans, "Ремонт запланирован на четверг", interim=True)
    w.clock.set(kirov("2025-10-14T11:00"))
    i1 = wf.reopen(i1, SYSTEM, "не решено")
    w.clock.set(kirov("2025-10-14T12:00"))
    i1 = wf.assign(i1, "minzdrav", w.operator, rule_id="rules[0]")

    w.clock.set(kirov("2025-10-15T12:00"))
    i3 = wf.answer(i3, w.minzdrav, "Согласно ст. 12 ФЗ № 323")
    w.clock.set(kirov("2025-10-15T14:00"))
    i3 = wf.send_for_rework(i3, w.operator, "Нет сроков")

    w.clock.set(kirov("2025-10-16T09:00"))
    i4 = wf.assign(i4, "minzdrav", w.operator, rule_id="rules[0]")
    w.clock.set(kirov("2025-10-16T10:00"))
    i3 = wf.answer(i3, w.minzdrav, "Приём 20.10 в 9:00, каб. 5")
    w.clock.set(kirov("2025-10-16T16:00"))
    i2 = wf.answer(i2, w.mintrans, "Яма заделана 16.10, фото прилагаем")

    w.clock.set(kirov("2025-10-17T14:00"))
    i5 = wf.assign(i5, "minzdrav", w.operator, rule_id="rules[0]")

    # After the as-of instant: must not count.
    w.clock.set(kirov("2025-10-20T10:00"))
    for late in (i4, i5):
        late = wf.accept(late, w.minzdrav)
        wf.answer(late, w.minzdrav, "Сделано")
    return w


@pytest.fixture
def played(db_url: str) -> KpiService:
    w = scenario(db_url)
    return KpiService(
        sessionmaker=w.sm,
        routing=lambda: w.workflow.routing,
        clock=w.clock,
        timezone="Europe/Kirov",
    )


def _row(report: KpiReport, key: str) -> KpiRow:
    (found,) = [r for r in report.rows if r.key == key]
    return found


def test_totals_by_hand(played: KpiService) -> None:
    total = played.report(PERIOD, as_of=AS_OF).total
    assert (total.received, total.answered, total.on_time, total.late) == (5, 3, 2, 2)
    assert (total.open_overdue, total.pending) == (1, 1)
    assert total.on_time_share == pytest.approx(0.5)
    # First answers: I1 4 wh / 5 h, I2 7 wh / 23 h (the interim), I3 11 wh / 27 h.
    assert total.first_answer_wh_median == pytest.approx(7)
    assert total.first_answer_wh_p90 == pytest.approx(10.2)
    assert total.first_answer_h_median == pytest.approx(23)
    assert total.first_answer_h_p90 == pytest.approx(26.2)
    # Final answers: I1 4 wh / 5 h, I3 11 wh / 27 h, I2 28 wh / 77 h.
    assert total.final_answer_wh_median == pytest.approx(11)
    assert total.final_answer_wh_p90 == pytest.approx(24.6)
    assert total.final_answer_h_median == pytest.approx(27)
    assert total.final_answer_h_p90 == pytest.approx(67)
    assert (total.returned, total.rework, total.reopened) == (1, 1, 1)
    assert total.returned_share == pytest.approx(1 / 5)
    assert total.rework_share == pytest.approx(1 / 3)
    assert total.reopened_share == pytest.approx(1 / 3)


def test_by_executor_counts_each_assignment(played: KpiService) -> None:
    report = played.report(PERIOD, by=Dimension.EXECUTOR, as_of=AS_OF)
    assert [r.key for r in report.rows] == ["minzdrav", "mintrans"]
    zdrav = _row(report, "minzdrav")
    assert zdrav.label == "MINZDRAV"
    # I1 twice (before and after the reopening), I2 (returned), I3, I4, I5.
    assert (zdrav.received, zdrav.answered, zdrav.on_time, zdrav.late) == (6, 2, 1, 3)
    assert (zdrav.open_overdue, zdrav.pending) == (2, 2)
    assert zdrav.on_time_share == pytest.approx(0.25)
    assert zdrav.first_answer_wh_median == pytest.approx(7.5)
    assert zdrav.first_answer_wh_p90 == pytest.approx(10.3)
    assert zdrav.final_answer_h_median == pytest.approx(16)
    assert zdrav.final_answer_h_p90 == pytest.approx(24.8)
    assert (zdrav.returned, zdrav.rework, zdrav.reopened) == (1, 1, 1)
    trans = _row(report, "mintrans")
    assert (trans.received, trans.answered, trans.on_time, trans.late) == (1, 1, 1, 0)
    assert trans.first_answer_wh_median == pytest.approx(5)
    assert trans.first_answer_h_median == pytest.approx(20)
    assert trans.final_answer_wh_median == pytest.approx(26)
    assert trans.final_answer_h_median == pytest.approx(74)


def test_breakdowns_by_municipality_topic_network(played: KpiService) -> None:
    by_place = played.report(PERIOD, by=Dimension.MUNICIPALITY, as_of=AS_OF)
    assert [(r.key, r.label, r.received) for r in by_place.rows] == [
        (SLOBODSKOY, "Слободской", 4),
        (KIROV_CITY, "Киров", 1),
    ]
    slob = _row(by_place, SLOBODSKOY)
    assert (slob.answered, slob.on_time, slob.late, slob.pending) == (2, 2, 1, 1)
    kirov_row = _row(by_place, KIROV_CITY)
    assert (kirov_row.on_time, kirov_row.late, kirov_row.rework) == (0, 1, 1)
    by_topic = played.report(PERIOD, by=Dimension.TOPIC, as_of=AS_OF)
    assert [(r.key, r.received) for r in by_topic.rows] == [("Здравоохранение", 4), ("Дороги", 1)]
    assert _row(by_topic, "Дороги").returned_share == pytest.approx(1.0)
    by_network = played.report(PERIOD, by=Dimension.NETWORK, as_of=AS_OF)
    assert [(r.key, r.label, r.received) for r in by_network.rows] == [
        ("vk", "ВКонтакте", 3),
        ("telegram", "Telegram", 1),
        ("ok", "Одноклассники", 1),
    ]
    assert _row(by_network, "vk").reopened == 1


def test_misroutes_per_rule(played: KpiService) -> None:
    report = played.report(PERIOD, as_of=AS_OF)
    assert [(m.rule_id, m.routed, m.not_ours) for m in report.misroutes] == [
        ("manual", 1, 0),
        ("rules[0]", 6, 1),
    ]
    assert report.misroutes[1].share == pytest.approx(1 / 6)


def test_later_events_change_later_figures(played: KpiService) -> None:
    """As of now (Mon 20 Oct) I4 is answered late and I5 on time."""
    total = played.report(PERIOD, as_of=kirov("2025-10-20T12:00")).total
    assert (total.answered, total.on_time, total.late, total.open_overdue) == (5, 3, 2, 0)


def test_executor_scope_sees_only_its_assignments(played: KpiService) -> None:
    report = played.report(PERIOD, as_of=AS_OF, executor="mintrans", by=Dimension.TOPIC)
    assert report.total.received == 1
    assert [(r.key, r.received) for r in report.rows] == [("Дороги", 1)]
    assert [(m.rule_id, m.routed) for m in report.misroutes] == [("manual", 1)]


def test_period_boundaries_are_half_open(played: KpiService) -> None:
    monday = Period(kirov("2025-10-13T10:00"), kirov("2025-10-13T11:00"))
    assert played.report(monday, as_of=AS_OF).total.received == 1  # I1, not I2 at 11:00


def test_tables_for_the_exporters(played: KpiService) -> None:
    figures, rules = kpi_tables(played.report(PERIOD, by=Dimension.EXECUTOR, as_of=AS_OF))
    assert figures.name == "kpi-executor"
    keys = [c.key for c in figures.columns]
    rows = [dict(zip(keys, row, strict=True)) for row in figures.rows]
    assert [r["key"] for r in rows] == ["minzdrav", "mintrans", None]
    assert rows[0]["on_time_share"] == pytest.approx(0.25)
    assert rows[-1]["label"] == "всего"
    assert rows[-1]["received"] == 5
    assert {c.kind for c in figures.columns} >= {"int", "percent", "hours"}
    assert [list(r) for r in rules.rows] == [["manual", 1, 0, 0.0], ["rules[0]", 6, 1, 1 / 6]]


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.9) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    assert percentile([10.0, 0.0, 20.0, 30.0, 40.0], 0.9) == pytest.approx(36.0)


def test_period_needs_aware_ordered_bounds() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Period(datetime(2025, 10, 13), datetime(2025, 10, 14))
    with pytest.raises(ValueError, match="end after"):
        Period(kirov("2025-10-14T00:00"), kirov("2025-10-13T00:00"))


def test_json_round_trip_of_a_report_is_plain(played: KpiService) -> None:
    figures, _ = kpi_tables(played.report(PERIOD, as_of=AS_OF))
    out = io.StringIO()
    json.dump([list(r) for r in figures.rows], out)
    assert json.loads(out.getvalue())[0][2] == 5
