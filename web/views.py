"""Request handlers: the start screen and the health endpoint."""

from __future__ import annotations

from html import escape
from string import Template

from aiohttp import web

from web.keys import HEALTH_PROBE, SITE_INFO

_INDEX = Template("""<!doctype html>
<html lang="ru">
<head>
<meta charset="utf-8">
<title>Инцидент-менеджмент — $region</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 48rem; color: #222; }
dt { font-weight: 600; } dd { margin: 0 0 .6rem 0; }
.ok { color: #1a7f37; } .bad { color: #b42318; }
</style>
</head>
<body>
<h1>Инцидент-менеджмент</h1>
<p>Центр управления регионом: <strong>$region</strong> (часовой пояс $timezone).</p>
<dl>
<dt>Состояние</dt><dd class="$health_class">$health_text</dd>
<dt>Источники (группы)</dt><dd>$sources</dd>
<dt>Исполнители</dt><dd>$executors</dd>
<dt>Правила маршрутизации</dt><dd>$rules</dd>
<dt>Версия схемы базы данных</dt><dd>$revision</dd>
</dl>
<p>Версия $version. Проверка состояния для мониторинга: <a href="/health">/health</a>.</p>
</body>
</html>
""")


async def index(request: web.Request) -> web.Response:
    """Render the start screen with the installation's summary and health."""
    info = request.app[SITE_INFO]
    report = await request.app[HEALTH_PROBE]()
    page = _INDEX.substitute(
        region=escape(info.region_name),
        timezone=escape(info.timezone),
        health_class="ok" if report.ok else "bad",
        health_text="работает" if report.ok else escape(f"неисправность: {report.detail}"),
        sources=info.sources,
        executors=info.executors,
        rules=info.rules,
        revision=escape(report.schema_revision or "не создана"),
        version=escape(info.version),
    )
    return web.Response(text=page, content_type="text/html")


async def health(request: web.Request) -> web.Response:
    """Report liveness and database readiness as JSON: 200 when healthy, 503 otherwise."""
    info = request.app[SITE_INFO]
    report = await request.app[HEALTH_PROBE]()
    body = {
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
    return web.json_response(body, status=200 if report.ok else 503)
