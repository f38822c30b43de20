"""The workspace's pages: login, the queue, the incident page, actions, reply templates."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDict, MultiDictProxy, MultiMapping

from web.auth import sign_out, viewer_of
from web.contracts import (
    ACTION_LABELS,
    ActionName,
    ActionRequest,
    QueueSort,
    Viewer,
    Workspace,
)
from web.errors import AppError, BadRequest, Conflict, InvalidAction, Unauthorized
from web.filters import SLA_LABELS
from web.form_body import read_form
from web.forms import FILTER_FIELDS, parse_action, parse_filter, parse_ids
from web.keys import SITE_INFO, WORKSPACE
from web.labels import PRIORITY_LABELS, STATUS_LABELS
from web.render import render
from web.signin import sign_in_with_password

__all__ = ["add_routes", "require_viewer"]

log = logging.getLogger(__name__)

#: Actions the queue's bulk bar offers.
BULK_ACTIONS = (ActionName.ASSIGN, ActionName.REJECT, ActionName.MERGE)


def _workspace(request: web.Request) -> Workspace:
    workspace = request.app[WORKSPACE]
    if workspace is None:  # pragma: no cover - routes exist only with a workspace
        raise web.HTTPNotFound()
    return workspace


def require_viewer(request: web.Request) -> Viewer:
    """Return the signed-in user; pages redirect to the login form, the API answers 401."""
    viewer = viewer_of(request)
    if viewer is None:
        if request.path.startswith("/api/") or request.method != "GET":
            raise Unauthorized("войдите в систему")
        raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))
    return viewer


def _safe_next(value: str | None) -> str:
    """Only a path on this site (never //host or a scheme) may follow the login."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/queue"


# --------------------------------------------------------------------------- login


async def login_form(request: web.Request) -> web.StreamResponse:
    """Show the login form (the signed-in go straight to the queue)."""
    if viewer_of(request) is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next")))
    return render(
        "login.html",
        request,
        {"error": None, "login": "", "next": _safe_next(request.query.get("next"))},
    )


async def login(request: web.Request) -> web.StreamResponse:
    """Check the login and password; throttle failures per login and per address."""
    workspace = _workspace(request)
    form = await read_form(request)
    login_name = str(form.get("login", "")).strip()[:128]
    password = str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")) or None)
    try:
        await sign_in_with_password(request, workspace, login_name, password)
    except (Unauthorized, BadRequest) as err:
        return render(
            "login.html",
            request,
            {"error": err.detail, "login": login_name, "next": target},
            status=err.status,
        )
    raise web.HTTPSeeOther(target)


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session."""
    viewer = viewer_of(request)
    sign_out(request)
    if viewer is not None:
        log.info("user %s signed out", viewer.login)
    raise web.HTTPSeeOther("/login")


# --------------------------------------------------------------------------- the queue


def _page_links(request: web.Request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    params = [(k, v) for k, v in request.query.items() if k in FILTER_FIELDS and k != "cursor"]
    params.append(("cursor", cursor))
    return "/queue?" + urlencode(params)


def _export_query(request: web.Request) -> str:
    """The current filters, for the export links (an export has no page, so no cursor)."""
    skip = ("cursor", "limit")
    return urlencode(
        [(k, v) for k, v in request.query.items() if k in FILTER_FIELDS and k not in skip]
    )


async def queue(request: web.Request) -> web.StreamResponse:
    """The queue: the operators' triage queue, or an executor's own incidents by deadline."""
    viewer = require_viewer(request)
    workspace = _workspace(request)
    info = request.app[SITE_INFO]
    default_sort = QueueSort.DEADLINE if viewer.is_executor else QueueSort.PRIORITY
    filters = parse_filter(request.query, timezone=info.timezone, default_sort=default_sort)
    page = await workspace.queries.queue(viewer, filters)
    choices = await workspace.queries.choices(viewer)
    return render(
        "queue.html",
        request,
        {
            "page": page,
            "filters": filters,
            "query": request.query,
            "choices": choices,
            "statuses": STATUS_LABELS,
            "priorities": PRIORITY_LABELS,
            "sla_labels": SLA_LABELS,
            "next_url": _page_links(request, page.next_cursor),
            "export_query": _export_query(request),
            "first_url": _page_links(request, "") if filters.cursor else None,
            "bulk_actions": [a.value for a in BULK_ACTIONS] if viewer.triages else [],
            "notice": _notice(request.query),
        },
    )


def _notice(query: MultiMapping[str]) -> str | None:
    done = query.get("done")
    if done is not None and done in ACTION_LABELS:
        return f"Выполнено: {ACTION_LABELS[done]}"
    if done == "bulk":
        return f"Выполнено для {query.get('n', '0')} инцидентов; не удалось: {query.get('f', '0')}"
    return None


async def bulk(request: web.Request) -> web.StreamResponse:
    """Take one action on the incidents ticked in the queue."""
    viewer = require_viewer(request)
    workspace = _workspace(request)
    form = await read_form(request)
    ids = parse_ids([str(v) for v in form.getall("id", [])], "id")
    items = []
    for incident_id in ids:
        version = form.get(f"v{incident_id}")
        if not isinstance(version, str) or not version.isdigit():
            raise BadRequest(f"нет версии инцидента {incident_id}", field="id")
        items.append((incident_id, int(version)))
    fields: MultiDict[str] = MultiDict((k, str(v)) for k, v in form.items())
    fields["version"] = "1"
    action = str(form.get("action", ""))
    if action not in {a.value for a in BULK_ACTIONS}:
        raise BadRequest("это действие нельзя выполнить для нескольких инцидентов", field="action")
    request_ = parse_action(action, MultiDictProxy(fields))
    result = await workspace.actions.bulk(viewer, items, request_)
    if result.failed:
        return render("bulk.html", request, {"result": result, "action": action}, status=200)
    raise web.HTTPSeeOther(
        "/queue?" + urlencode({"done": "bulk", "n": len(result.done), "f": len(result.failed)})
    )


# --------------------------------------------------------------------------- one incident


async def _incident_page(
    request: web.Request,
    viewer: Viewer,
    incident_id: int,
    *,
    error: AppError | None = None,
    form: dict[str, str] | None = None,
) -> web.StreamResponse:
    workspace = _workspace(request)
    detail = await workspace.queries.incident(viewer, incident_id)
    choices = await workspace.queries.choices(viewer)
    templates = await workspace.queries.templates(viewer)
    return render(
        "incident.html",
        request,
        {
            "d": detail,
            "i": detail.row,
            "choices": choices,
            "templates": templates,
            "error": error,
            "form": form or {},
            "notice": _notice(request.query) if error is None else None,
        },
        status=error.status if error is not None else 200,
    )


def _incident_id(request: web.Request) -> int:
    raw = request.match_info["incident_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise web.HTTPNotFound()
    return int(raw)


async def incident(request: web.Request) -> web.StreamResponse:
    """The incident page."""
    viewer = require_viewer(request)
    return await _incident_page(request, viewer, _incident_id(request))


async def act(request: web.Request) -> web.StreamResponse:
    """Take an action from the incident page; a refusal re-renders the page with the reason."""
    viewer = require_viewer(request)
    workspace = _workspace(request)
    incident_id = _incident_id(request)
    form = await read_form(request)
    fields: MultiDict[str] = MultiDict((k, str(v)) for k, v in form.items())
    action = request.match_info["action"]
    try:
        action_request: ActionRequest = parse_action(action, MultiDictProxy(fields))
        result = await workspace.actions.perform(viewer, incident_id, action_request)
    except (Conflict, InvalidAction, BadRequest) as err:
        kept = {k: v for k, v in fields.items() if k not in ("csrf", "version")}
        return await _incident_page(request, viewer, incident_id, error=err, form=kept)
    target = result.created_incident_id if action == ActionName.SPLIT else result.incident_id
    if viewer.is_executor and result.status not in ("assigned", "in_progress", "rework"):
        raise web.HTTPSeeOther("/queue?" + urlencode({"done": action}))
    raise web.HTTPSeeOther(f"/incidents/{target or incident_id}?" + urlencode({"done": action}))


# --------------------------------------------------------------------------- templates


async def templates_page(request: web.Request) -> web.StreamResponse:
    """An executor's reply templates, with the form to add or change one."""
    viewer = require_viewer(request)
    workspace = _workspace(request)
    rows = await workspace.queries.templates(viewer)
    return render("templates.html", request, {"templates": rows, "notice": _notice(request.query)})


async def template_save(request: web.Request) -> web.StreamResponse:
    """Add or change a reply template."""
    viewer = require_viewer(request)
    form = await read_form(request)
    raw_id = str(form.get("id", "")).strip()
    template_id = int(raw_id) if raw_id.isdigit() else None
    await _workspace(request).actions.save_template(
        viewer, template_id, str(form.get("title", "")), str(form.get("text", ""))
    )
    raise web.HTTPSeeOther("/templates")


async def template_delete(request: web.Request) -> web.StreamResponse:
    """Delete a reply template."""
    viewer = require_viewer(request)
    raw = request.match_info["template_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise web.HTTPNotFound()
    await _workspace(request).actions.delete_template(viewer, int(raw))
    raise web.HTTPSeeOther("/templates")


def add_routes(app: web.Application) -> None:
    """Register the workspace's pages."""
    app.router.add_get("/login", login_form, name="login")
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout, name="logout")
    app.router.add_get("/queue", queue, name="queue")
    app.router.add_post("/queue/bulk", bulk, name="bulk")
    app.router.add_get("/incidents/{incident_id}", incident, name="incident")
    app.router.add_post("/incidents/{incident_id}/actions/{action}", act, name="act")
    app.router.add_get("/templates", templates_page, name="templates")
    app.router.add_post("/templates", template_save)
    app.router.add_post("/templates/{template_id}/delete", template_delete)
