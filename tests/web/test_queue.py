"""The queue and the incident page: filters, keyset pages, the executor's scope, escaping."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.web.conftest import XSS, Desk, post_action
from web.contracts import QueueFilter, QueueSort, SlaState, Viewer

NUMBER = re.compile(r'<a href="/incidents/(\d+)">')


def ids_on(page: str) -> list[int]:
    """Return the incident ids listed in a queue page, in order."""
    return [int(x) for x in NUMBER.findall(page)]


async def listed(desk: Desk, login: str, query: str) -> set[str]:
    client = await desk.client(login)
    response = await client.get("/queue?" + query)
    assert response.status == 200, await response.text()
    by_id = {r.id: name for name, r in desk.incidents.items()}
    return {by_id[i] for i in ids_on(await response.text())}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"clinic", "pothole", "water"}),
        ("state=triage", {"water"}),
        ("state=assigned", {"clinic", "pothole"}),
        ("topic_group=Дороги", {"pothole"}),
        ("topic=Запись+к+врачу", {"clinic"}),
        ("municipality=33713000", {"clinic", "pothole"}),
        ("executor=minzdrav", {"clinic"}),
        ("sla=ok", {"clinic", "pothole"}),
        ("sla=overdue", set()),
        ("network=vk", {"clinic", "pothole", "water"}),
        ("network=telegram", set()),
        ("priority=urgent", set()),
        ("from=2025-10-14&to=2025-10-14", {"clinic", "pothole", "water"}),
        ("from=2025-10-15", set()),
        ("q=ПОЛИКЛИНИК", {"clinic"}),
        ("q=яма", {"pothole"}),
        ("q=воды", {"water"}),
        ("q=ёлка", set()),
    ],
)
async def test_operator_filters(desk: Desk, query: str, expected: set[str]) -> None:
    assert await listed(desk, "operator", query) == expected


async def test_ended_incidents_leave_the_default_queue(desk: Desk) -> None:
    water = desk.incident("water")
    desk.w.workflow.reject(water, desk.w.operator, "Реклама")
    assert await listed(desk, "operator", "") == {"clinic", "pothole"}
    assert await listed(desk, "operator", "state=rejected") == {"water"}


async def test_source_filter_and_search_by_number(desk: Desk) -> None:
    clinic = desk.incidents["clinic"]
    assert await listed(desk, "operator", "source=1") == {"clinic", "pothole", "water"}
    assert await listed(desk, "operator", "source=999") == set()
    assert await listed(desk, "operator", f"q={clinic.public_number}") == {"clinic"}


async def test_source_filter_follows_state_changes_and_other_filters(desk: Desk) -> None:
    # The source filter reads the state from the links' copies (migration 0011).
    desk.w.workflow.reject(desk.incident("water"), desk.w.operator, "Реклама")
    assert await listed(desk, "operator", "source=1") == {"clinic", "pothole"}
    assert await listed(desk, "operator", "source=1&state=rejected") == {"water"}
    assert await listed(desk, "operator", "source=1&sort=received") == {"clinic", "pothole"}
    assert await listed(desk, "operator", "source=1&topic_group=Дороги") == {"pothole"}
    assert await listed(desk, "operator", "source=1&executor=minzdrav") == {"clinic"}
    assert await listed(desk, "operator", "source=1&q=яма") == {"pothole"}


@pytest.mark.parametrize("sort", ["priority", "deadline", "received"])
async def test_source_pages_keep_the_queue_order(desk: Desk, sort: str) -> None:
    client = await desk.client("operator")
    seen: list[int] = []
    url = f"/queue?source=1&sort={sort}&limit=1"
    while url:
        page = await (await client.get(url)).text()
        seen.extend(ids_on(page))
        found = re.search(r'<a href="(/queue\?[^"]+)" id="next">', page)
        url = found.group(1).replace("&amp;", "&") if found else ""
    unfiltered = ids_on(await (await client.get(f"/queue?sort={sort}")).text())
    assert seen == unfiltered
    assert len(seen) == 3
    body = await (await client.get(f"/api/v1/incidents?source=1&sort={sort}")).json()
    assert [item["id"] for item in body["items"]] == unfiltered


async def test_sla_states_follow_the_clock(desk: Desk) -> None:
    desk.w.clock.advance(timedelta(hours=7))  # 8 working hours: at risk after 6 (75 %)
    assert await listed(desk, "operator", "sla=at_risk") == {"clinic", "pothole"}
    desk.w.clock.advance(timedelta(days=3))
    assert await listed(desk, "operator", "sla=overdue") == {"clinic", "pothole"}
    client = await desk.client("operator")
    page = await (await client.get("/queue")).text()
    assert "просрочен" in page
    assert "sla-overdue" in page


@pytest.mark.parametrize("sort", ["priority", "deadline", "received"])
async def test_keyset_pages_cover_everything_once(desk: Desk, sort: str) -> None:
    client = await desk.client("operator")
    seen: list[int] = []
    url = f"/queue?sort={sort}&limit=1"
    while url:
        page = await (await client.get(url)).text()
        seen.extend(ids_on(page))
        found = re.search(r'<a href="(/queue\?[^"]+)" id="next">', page)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert sorted(seen) == sorted(r.id for r in desk.incidents.values())
    assert len(seen) == len(set(seen))
    one_page = ids_on(await (await client.get(f"/queue?sort={sort}&limit=50")).text())
    assert seen == one_page


@pytest.mark.parametrize("sort", ["priority", "deadline", "received"])
async def test_overdue_pages_cover_every_overdue_incident_once(desk: Desk, sort: str) -> None:
    # sla=overdue picks each page's ids first and then reads their rows (queue.py).
    desk.w.clock.advance(timedelta(days=3))
    client = await desk.client("operator")
    seen: list[int] = []
    url = f"/queue?sla=overdue&sort={sort}&limit=1"
    while url:
        page = await (await client.get(url)).text()
        seen.extend(ids_on(page))
        found = re.search(r'<a href="(/queue\?[^"]+)" id="next">', page)
        url = found.group(1).replace("&amp;", "&") if found else ""
    overdue = {desk.incidents["clinic"].id, desk.incidents["pothole"].id}
    assert sorted(seen) == sorted(overdue)
    one_page = ids_on(await (await client.get(f"/queue?sla=overdue&sort={sort}")).text())
    assert seen == one_page
    api = await desk.client("operator")
    body = await (await api.get(f"/api/v1/incidents?sla=overdue&sort={sort}")).json()
    assert [item["id"] for item in body["items"]] == one_page


async def test_received_order_is_newest_first(desk: Desk) -> None:
    client = await desk.client("operator")
    page = await (await client.get("/queue?sort=received")).text()
    names = {r.id: n for n, r in desk.incidents.items()}
    assert [names[i] for i in ids_on(page)] == ["water", "pothole", "clinic"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=!!!", "cursor"),
        ("sort=priority&cursor=WyJyZWNlaXZlZCIsIjIwMjUiLDFd", "cursor"),
        ("sort=sideways", "sort"),
        ("sla=someday", "sla"),
        ("from=14.10.2025", "from"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("source=x", "source"),
        ("state=nonsense", None),
    ],
)
async def test_bad_queue_parameters_are_400(desk: Desk, query: str, field: str | None) -> None:
    client = await desk.client("operator")
    response = await client.get("/queue?" + query)
    assert response.status == 400
    assert "Неверный запрос" in await response.text()


async def test_executor_sees_only_its_own_incidents(desk: Desk) -> None:
    assert await listed(desk, "zdrav", "") == {"clinic"}
    assert await listed(desk, "trans", "") == set()
    # Neither filters nor search reach another executor's incidents.
    for query in (
        "executor=adm-slobodskoy",
        "state=triage",
        "q=яма",
        "q=воды",
        f"q={desk.incidents['pothole'].public_number}",
        "sort=received",
        "sla=ok",
    ):
        assert await listed(desk, "zdrav", query) <= {"clinic"}, query


async def test_executor_cannot_open_or_change_another_executors_incident(desk: Desk) -> None:
    client = await desk.client("zdrav")
    for name in ("pothole", "water"):
        incident = desk.incidents[name]
        response = await client.get(f"/incidents/{incident.id}")
        assert response.status == 404
        assert incident.public_number not in await response.text()
    assert (await client.get("/incidents/999999")).status == 404
    pothole = desk.incidents["pothole"]
    refused = await post_action(client, pothole.id, "accept", version=pothole.version)
    assert refused.status == 404
    assert desk.incident("pothole").status.value == "assigned"
    assert (await client.get(f"/incidents/{desk.incidents['clinic'].id}")).status == 200


async def test_network_text_is_escaped_everywhere(desk: Desk) -> None:
    client = await desk.client("operator")
    water = desk.incidents["water"]
    assert XSS in water.title  # the title is the network's text
    for path in ("/queue", f"/incidents/{water.id}"):
        page = await (await client.get(path)).text()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert XSS not in page
        assert "<img src=x" not in page
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title is not None
    assert "&lt;script&gt;" in title.group(1)


async def test_only_web_links_become_hrefs(desk: Desk) -> None:
    from storage.models import Message

    with desk.w.sm.begin() as session:
        for message in session.query(Message):
            message.url = "javascript:alert(1)"
    client = await desk.client("operator")
    page = await (await client.get(f"/incidents/{desk.incidents['clinic'].id}")).text()
    assert "javascript:" not in page
    assert "оригинал" not in page


async def test_incident_page_shows_the_read_model(desk: Desk) -> None:
    client = await desk.client("operator")
    clinic = desk.incidents["clinic"]
    page = await (await client.get(f"/incidents/{clinic.id}")).text()
    assert "невозможно записаться к терапевту 😡" in page
    assert "https://vk.com/wall" in page  # the link to the original post
    assert "14.10.2025 07:00" in page  # posted 04:00 UTC, shown in Kirov time (UTC+3)
    assert "Классификация" in page
    assert "95 %" in page
    assert "keywords:2026-11-23" in page
    assert "Почему в этом инциденте" in page
    assert "Как посчитан срок" in page
    assert "Норматив: 8 ч рабочего времени" in page
    assert "засчитано 10:00–13:00, 14:00–18:00 = 7 ч; осталось 1 ч" in page
    assert "Срок ответа: 15.10.2025 10:00" in page
    assert "назначен исполнитель" in page  # the history
    assert "MINZDRAV" in page


async def test_queue_service_scope_is_inside_the_query(desk: Desk) -> None:
    queries = desk.workspace.queries
    zdrav = Viewer(
        user_id=4, login="zdrav", name="Zdrav", role="executor", executor_code="minzdrav"
    )
    page = await queries.queue(zdrav, QueueFilter(sort=QueueSort.RECEIVED, limit=1))
    assert [r.public_number for r in page.rows] == [desk.incidents["clinic"].public_number]
    assert page.next_cursor is None
    assert page.rows[0].sla is SlaState.OK


async def test_filter_choices_are_kept_for_a_minute(desk: Desk) -> None:
    from storage.enums import ExecutorKind
    from tests.factories import add_executor

    queries = desk.workspace.queries
    operator = Viewer(user_id=1, login="operator", name="Operator", role="operator")
    before = await queries.choices(operator)
    add_executor(desk.w.sm, "minprirody", ExecutorKind.MINISTRY)
    kept = await queries.choices(operator)
    assert kept.executors == before.executors  # read once, not on every page
    desk.w.clock.advance(timedelta(seconds=61))
    fresh = await queries.choices(operator)
    assert "minprirody" in {code for code, _ in fresh.executors}
    assert "minprirody" not in {code for code, _ in before.executors}
