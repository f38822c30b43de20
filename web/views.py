"""Request handlers: the start screen and the health endpoint."""

from __future__ import annotations

from datetime import datetime
from html import escape
from string import Template
from zoneinfo import ZoneInfo

from aiohttp import web

from web.keys import HEALTH_PROBE, OVERVIEW, SITE_INFO, WORKSPACE, Overview
from web.labels import priority_label, status_label

_INDEX = Template("""<!doctype html>
<html lang="ru">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="30">
<title>Инцидент-менеджмент — $region</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<main>
<h1>Инцидент-менеджмент</h1>
<p>Центр управления регионом: <strong>$region</strong> (часовой пояс $timezone).</p>
<dl>
<dt>Состояние</dt><dd class="$health_class">$health_text</dd>
<dt>Источники (группы)</dt><dd>$sources</dd>
<dt>Исполнители</dt><dd>$executors</dd>
<dt>Правила маршрутизации</dt><dd>$rules</dd>
<dt>Версия схемы базы данных</dt><dd>$revision</dd>
</dl>
$overview
<p>Версия $version. Проверка состояния для мониторинга: <a href="/health">/health</a>.
Страница обновляется каждые 30 секунд.</p>
$login
</main>
</body>
</html>
""")


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(zone).strftime("%d.%m.%Y %H:%M")


def render_overview(overview: Overview, zone: ZoneInfo) -> str:
    """Render the counts by state and the table of the latest incidents."""
    total = sum(count for _, count in overview.by_status)
    counts = "".join(
        f"<span>{escape(status_label(status))}: <strong>{count}</strong></span>"
        for status, count in overview.by_status
    )
    parts = [
        "<h2>Инциденты</h2>",
        f"<p>Сообщений собрано: <strong>{overview.messages}</strong>; "
        f"инцидентов: <strong>{total}</strong>.</p>",
        f'<p class="counts">{counts}</p>' if counts else "",
    ]
    if not overview.latest:
        parts.append("<p>Инцидентов пока нет.</p>")
        return "\n".join(parts)
    rows = []
    for row in overview.latest:
        rows.append(
            "<tr>"
            f"<td>{escape(row.number)}</td>"
            f"<td>{escape(_local(row.created_at, zone))}</td>"
            f"<td>{escape(status_label(row.status))}</td>"
            f"<td>{escape(priority_label(row.priority))}</td>"
            f"<td>{escape(row.title)}</td>"
            f"<td>{escape(row.topic_group or '—')}</td>"
            f"<td>{escape(row.municipality or '—')}</td>"
            f"<td>{row.messages} / {row.authors}"
            + (f"<br>поддержали: {row.supported}" if row.supported else "")
            + "</td>"
            f"<td>{escape(row.executor or '—')}</td>"
            f"<td>{escape(_local(row.deadline, zone))}</td>"
            "</tr>"
        )
    parts.append(
        "<h3>Последние инциденты</h3><table><thead><tr>"
        "<th>Номер</th><th>Создан</th><th>Состояние</th><th>Приоритет</th><th>Суть</th>"
        "<th>Тема</th><th>Муниципалитет</th><th>Сообщений / авторов</th>"
        "<th>Исполнитель</th><th>Срок ответа</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    return "\n".join(parts)


async def index(request: web.Request) -> web.Response:
    """Render the start screen with the installation's summary, health and incidents."""
    info = request.app[SITE_INFO]
    report = await request.app[HEALTH_PROBE]()
    provider = request.app[OVERVIEW]
    overview_html = ""
    if provider is not None and report.ok:
        overview_html = render_overview(await provider(), ZoneInfo(info.timezone))
    page = _INDEX.substitute(
        region=escape(info.region_name),
        timezone=escape(info.timezone),
        health_class="ok" if report.ok else "bad",
        health_text="работает" if report.ok else escape(f"неисправность: {report.detail}"),
        sources=info.sources,
        executors=info.executors,
        rules=info.rules,
        revision=escape(report.schema_revision or "не создана"),
        overview=overview_html,
        version=escape(info.version),
        login=(
            '<p><a class="button" href="/login">Войти в рабочее место</a></p>'
            if request.app[WORKSPACE] is not None
            else ""
        ),
    )
    return web.Response(text=page, content_type="text/html")


async def health(request: web.Request) -> web.Response:
    """Report liveness and database readiness as JSON: 200 when healthy, 503 otherwise."""
    info = request.app[SITE_INFO]
    report = await request.app[HEALTH_PROBE]()
    body: dict[str, object] = {
        "status": "ok" if report.ok else "unavailable",
        "version": info.version,
        "database": {
            "ok": report.database_ok,
            "schema_revision": report.schema_revision,
            "schema_head": report.schema_head,
        },
    }
    if report.detail:
        body["detail"] = report.detail
    if report.backlog is not None:
        body["backlog"] = dict(report.backlog)
    return web.json_response(body, status=200 if report.ok else 503)
