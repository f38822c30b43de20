"""The queue table's rows rendered in Python: the template loop's markup, every text escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import pytest

from web.contracts import QueueRow, SlaState
from web.filters import SLA_LABELS, install_filters
from web.queue_rows import queue_rows

ZONE = "Europe/Kirov"
XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"
LOOP = (Path(__file__).parent / "queue_rows_loop.html").read_text(encoding="utf-8")


def _row(n: int, **changes: object) -> QueueRow:
    values: dict[str, object] = {
        "id": n,
        "public_number": f"2026-{n:06d}",
        "status": "triage",
        "version": 3,
        "priority": "urgent",
        "title": "Яма на ул. Ленина 😡 «колёса пробиты» & никто не чинит",
        "topic_group": "Дороги",
        "topic": "Ямы на дорогах",
        "municipality": "Слободской",
        "message_count": 4,
        "author_count": 2,
        "created_at": datetime(2026, 3, 1, 21, 30, tzinfo=UTC),
        "executor_code": "ex-07",
        "executor_name": "Минтранс Кировской области",
        "deadline_at": datetime(2026, 3, 3, 6, 0, tzinfo=UTC),
        "sla": SlaState.OVERDUE,
    }
    values.update(changes)
    return QueueRow(**values)  # type: ignore[arg-type]


ROWS = (
    _row(1),
    _row(2, title=XSS, executor_name=f'"{XSS}"', municipality="<b>Киров</b>", sla=None),
    _row(3, topic=None, topic_group=None, municipality=None, executor_name=None, deadline_at=None),
    _row(4, title="", sla=SlaState.AT_RISK, priority="low", status="in_progress"),
    _row(5, title="Д" * 5000, sla=SlaState.OK, public_number="<i>1</i>"),
)


def _template_loop(rows: tuple[QueueRow, ...], bulk: bool) -> str:
    """What the queue template's row loop wrote (autoescaped jinja with the page's filters)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    install_filters(env, ZONE)
    template = env.from_string(LOOP)
    return template.render(page={"rows": rows}, bulk_actions=["assign"] if bulk else [])


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "no-bulk"])
def test_rows_match_the_template_loop(bulk: bool) -> None:
    html = queue_rows(ROWS, bulk=bulk, zone=ZoneInfo(ZONE), sla_labels=SLA_LABELS)
    assert str(html) == _template_loop(ROWS, bulk)


def test_network_text_is_escaped_and_times_are_local() -> None:
    html = str(queue_rows(ROWS, bulk=True, zone=ZoneInfo(ZONE), sla_labels=SLA_LABELS))
    for raw in ("<script>", "<img", "<b>", "<i>"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&lt;script&gt;" in html
    assert "02.03.2026 00:30" in html  # 21:30 UTC is the next day's 00:30 in Kirov (UTC+3)
    assert 'class="sla-overdue prio-urgent"' in html
    assert '<span class="badge sla-at_risk">под угрозой</span>' in html
    assert '<input type="hidden" name="v1" value="3">' in html
    assert "<td>4 / 2</td>" in html
    assert html.count("<tr ") == len(ROWS)


def test_no_rows_no_markup() -> None:
    assert str(queue_rows((), bulk=True, zone=ZoneInfo(ZONE), sla_labels=SLA_LABELS)) == ""
