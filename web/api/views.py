"""The JSON API's handlers and its operation table (which also writes the OpenAPI document).

Each handler gets the caller (or None for the public operations), the validated query or body
model, and the incident id of the path; it calls the same services as the pages (the
workspace's accounts, queries and actions) and returns a response model. Validation failures
are 422 naming the field; the error middleware renders every error as
``{"status", "error", "detail", "field"}``.

CSRF: calls authenticated by the session cookie must send the session's token in the
``X-CSRF-Token`` header on every unsafe method (the auth middleware checks it); calls with
``Authorization: Bearer`` carry no cookie and need none. The sign-in itself is exempt when its
body is ``application/json``: a cross-site page cannot send that without a CORS preflight,
which this server never grants.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from web.api.kpi import KpiOut, KpiQuery, kpi
from web.api.models import (
    ACTION_BODIES,
    ID_MAX,
    ActionBody,
    ActionResultOut,
    ExecutorList,
    ExecutorOut,
    ExportQuery,
    IncidentDetailOut,
    IncidentList,
    IncidentQuery,
    LoginBody,
    MeOut,
    TokenOut,
)
from web.api.openapi import PREFIX, Operation, document
from web.auth import csrf_token, is_bearer, sign_out, viewer_of
from web.contracts import ActionName, ActionRequest, QueueRow, QueueSort, Viewer, Workspace
from web.errors import AppError, BadRequest, Unauthorized
from web.export_views import EXPORT_FORMATS, export_incidents
from web.forms import parse_filter
from web.keys import SITE_INFO, WORKSPACE
from web.signin import sign_in_with_password

__all__ = ["OPENAPI", "OPERATIONS", "Unprocessable", "add_routes", "csrf_exempt"]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

#: The OpenAPI document of this application (built once, at start).
OPENAPI: web.AppKey[dict[str, Any]] = web.AppKey("openapi", dict)


class Unprocessable(AppError):
    """The request's input does not match the API's schema."""

    status = 422
    title = "Неверные данные"


@dataclass(frozen=True, slots=True)
class Call:
    """One API call: the request, the caller, and what was validated."""

    request: web.Request
    workspace: Workspace
    viewer: Viewer | None
    incident_id: int | None = None
    query: BaseModel | None = None
    body: BaseModel | None = None

    def caller(self) -> Viewer:
        """Return the caller of an authenticated operation."""
        if self.viewer is None:  # pragma: no cover - the dispatcher answers 401 first
            raise Unauthorized("войдите в систему")
        return self.viewer

    def body_as(self, model: type[M]) -> M:
        """Return the validated body as its model."""
        if not isinstance(self.body, model):  # pragma: no cover - the table pairs them
            raise TypeError(f"expected {model.__name__}")
        return self.body

    def path_id(self) -> int:
        """Return the incident id of the path."""
        if self.incident_id is None:  # pragma: no cover - only incident paths ask
            raise TypeError("no incident id in this path")
        return self.incident_id


def _invalid(err: ValidationError, where: str) -> Unprocessable:
    """Turn pydantic's errors into one line naming the first bad field (never echoing input)."""
    parts = []
    first: str | None = None
    for item in err.errors(include_input=False, include_url=False)[:3]:
        loc = item["loc"]
        parts.append(f"{'.'.join(str(p) for p in loc) or where}: {item['msg']}")
        first = first or (str(loc[0]) if loc else where)
    return Unprocessable("; ".join(parts), field=first or where)


def _validate_query(model: type[BaseModel], query: Mapping[str, Any]) -> BaseModel:
    values: dict[str, Any] = {}
    getall = getattr(query, "getall", None)
    for name in query:
        if name in values:
            continue
        field = model.model_fields.get(name) or next(
            (f for f in model.model_fields.values() if f.alias == name), None
        )
        annotation = getattr(field, "annotation", None)
        is_list = getattr(annotation, "__origin__", None) is list
        values[name] = list(getall(name)) if is_list and getall else query[name]
    try:
        return model.model_validate(values)
    except ValidationError as err:
        raise _invalid(err, "query") from None


async def _validate_body(model: type[BaseModel], request: web.Request) -> BaseModel:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="the body must be application/json")
    raw = await request.read()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # [[[[... too deep to decode
        raise BadRequest("тело запроса: не JSON", field="body") from None
    if not isinstance(data, dict):
        raise Unprocessable("тело запроса должно быть JSON-объектом", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise _invalid(err, "body") from None


def _incident_id(request: web.Request) -> int:
    raw = request.match_info["incident_id"]
    if not raw.isdigit() or len(raw) > 19 or not 1 <= int(raw) <= ID_MAX:
        raise Unprocessable("incident_id: ожидается целое число от 1", field="incident_id")
    return int(raw)


def _json(model: BaseModel | web.StreamResponse | None, status: int) -> web.StreamResponse:
    if isinstance(model, web.StreamResponse):  # a file the handler has streamed
        return model
    if model is None:
        return web.Response(status=204)
    return web.Response(
        text=model.model_dump_json(), status=status, content_type="application/json"
    )


def _endpoint(op: Operation) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        workspace = request.app[WORKSPACE]
        if workspace is None:  # pragma: no cover - routes exist only with a workspace
            raise web.HTTPNotFound()
        viewer = viewer_of(request)
        if op.authenticated and viewer is None:
            raise Unauthorized("нужна сессия или токен (Authorization: Bearer ...)")
        call = Call(
            request=request,
            workspace=workspace,
            viewer=viewer,
            incident_id=_incident_id(request) if "{incident_id}" in op.path else None,
            query=_validate_query(op.query, request.query) if op.query else None,
            body=await _validate_body(op.body, request) if op.body else None,
        )
        return _json(await op.handler(call), op.status)

    handle.__name__ = op.operation_id
    return handle


def _me(request: web.Request, viewer: Viewer) -> MeOut:
    bearer = is_bearer(request)
    return MeOut(
        id=viewer.user_id,
        login=viewer.login,
        name=viewer.name,
        role=viewer.role,
        executor_code=viewer.executor_code,
        executor_name=viewer.executor_name,
        auth="token" if bearer else "session",
        csrf_token=None if bearer else csrf_token(request),
    )


# --------------------------------------------------------------------------- handlers


async def _openapi(request: web.Request) -> web.StreamResponse:
    """Serve the OpenAPI document (public: it holds no data)."""
    return web.json_response(request.app[OPENAPI])


async def login(call: Call) -> BaseModel:
    """Sign in: the session cookie is set, and the answer carries the CSRF token."""
    body = call.body_as(LoginBody)
    viewer = await sign_in_with_password(
        call.request, call.workspace, body.login.strip(), body.password
    )
    return _me(call.request, viewer)


async def logout(call: Call) -> None:
    """End the session (a token call has none to end)."""
    sign_out(call.request)
    if call.viewer is not None:
        log.info("user %s signed out (API)", call.viewer.login)


async def me(call: Call) -> BaseModel:
    """Who is calling."""
    return _me(call.request, call.caller())


async def new_token(call: Call) -> BaseModel:
    """Issue an API token for the caller."""
    token = await call.workspace.accounts.issue_token(call.caller())
    return TokenOut(token=token)


async def executors(call: Call) -> BaseModel:
    """The active executors."""
    choices = await call.workspace.queries.choices(call.caller())
    return ExecutorList(items=[ExecutorOut(code=c, name=n) for c, n in choices.executors])


@dataclass(frozen=True, slots=True)
class _IncidentPage:
    """IncidentList's JSON from the queue's rows as they are (the service built them typed)."""

    items: tuple[QueueRow, ...]
    next_cursor: str | None


#: Serialises a page without validating each row's fields into IncidentSummary first (1.2 ->
#: 0.7 ms of CPU for 51 rows); the same JSON (tests/web/api/test_api.py checks it), and the
#: document still describes it with IncidentList.
_PAGE_JSON = TypeAdapter(_IncidentPage)


async def incidents(call: Call) -> web.StreamResponse:
    """One page of the queue, in the caller's scope."""
    viewer = call.caller()
    default = QueueSort.DEADLINE if viewer.is_executor else QueueSort.PRIORITY
    # The query was validated against IncidentQuery (and so documented); parse_filter turns the
    # same parameters into the filter exactly as the queue page does.
    filters = parse_filter(
        call.request.query,
        timezone=call.request.app[SITE_INFO].timezone,
        default_sort=default,
    )
    page = await call.workspace.queries.queue(viewer, filters)
    return web.Response(
        body=_PAGE_JSON.dump_json(_IncidentPage(page.rows, page.next_cursor)),
        content_type="application/json",
    )


async def export(call: Call) -> web.StreamResponse:
    """The queue in the caller's scope, every page of it, as a CSV or XLSX file."""
    query = call.query
    if not isinstance(query, ExportQuery):  # pragma: no cover - the table pairs them
        raise TypeError("expected ExportQuery")
    return await export_incidents(call.request, call.caller(), query.format.value)


async def incident(call: Call) -> BaseModel:
    """The incident page's content."""
    detail = await call.workspace.queries.incident(call.caller(), call.path_id())
    data = dataclasses.asdict(detail)
    row = data.pop("row")
    return IncidentDetailOut.model_validate({**row, **data})


def _action_handler(name: ActionName) -> Any:
    async def act(call: Call) -> BaseModel:
        body = call.body_as(ActionBody)
        fields = body.model_dump()
        if "message_ids" in fields:
            fields["message_ids"] = tuple(fields["message_ids"])
        for key in ("resolution", "return_kind"):
            if fields.get(key) is not None:
                fields[key] = str(fields[key])
        request = ActionRequest(action=name, **fields)
        result = await call.workspace.actions.perform(call.caller(), call.path_id(), request)
        return ActionResultOut.model_validate(result)

    act.__name__ = f"act_{name.value}"
    return act


_READ_ERRORS = (401,)
_ACTION_ERRORS = (400, 401, 403, 404, 409, 415, 422)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        "/session",
        "signIn",
        "Sign in with a login and password",
        login,
        MeOut,
        body=LoginBody,
        errors=(400, 401, 403, 415, 422, 429),
        authenticated=False,
        tag="session",
        description="Sets the session cookie; the answer's csrf_token goes into X-CSRF-Token "
        "on later unsafe calls with that cookie. Throttled like the login form.",
    ),
    Operation(
        "DELETE",
        "/session",
        "signOut",
        "End the session",
        logout,
        None,
        status=204,
        errors=(403,),
        authenticated=False,
        tag="session",
    ),
    Operation("GET", "/me", "me", "The caller", me, MeOut, errors=_READ_ERRORS, tag="session"),
    Operation(
        "POST",
        "/tokens",
        "issueToken",
        "Issue an API token for the caller",
        new_token,
        TokenOut,
        status=201,
        errors=(401, 403),
        tag="session",
        description="The token is shown once; send it as Authorization: Bearer <token>. "
        "`incident-management users token --revoke LOGIN` revokes a user's tokens.",
    ),
    Operation(
        "GET",
        "/executors",
        "executors",
        "The active executors",
        executors,
        ExecutorList,
        errors=_READ_ERRORS,
        tag="reference",
    ),
    Operation(
        "GET",
        "/incidents",
        "incidents",
        "The queue: incidents in the caller's scope, filtered, one keyset page",
        incidents,
        IncidentList,
        query=IncidentQuery,
        errors=(400, 401, 422),
        description="An executor's staff see only incidents actively assigned to their "
        "executor, whatever the filters. Pages never count or skip rows: follow next_cursor.",
    ),
    # Before /incidents/{incident_id}, whose pattern would take "export" for an id.
    Operation(
        "GET",
        "/incidents/export",
        "exportIncidents",
        "The queue as a file: every incident in the caller's scope that the filters select",
        export,
        None,
        query=ExportQuery,
        errors=(400, 401, 404, 422),
        files=tuple(media.split(";")[0] for media in EXPORT_FORMATS.values()),
        description="The same filters and scope as GET /api/v1/incidents, without pages: "
        "the whole list, streamed in chunks (Content-Disposition names the file). CSV is "
        "UTF-8 with a BOM, `;`-separated, for Russian Excel; XLSX has real dates (in the "
        "region's zone) and numbers. An executor's staff export only their own incidents.",
    ),
    Operation(
        "GET",
        "/kpi",
        "kpi",
        "KPIs of a period, rebuilt from the event log (docs/kpi.md)",
        kpi,
        KpiOut,
        query=KpiQuery,
        errors=(400, 401, 403, 404, 422),
        tag="kpi",
        description="Supervisors, operators and administrators get every figure; an "
        "executor's staff only their own executor's assignments, whatever `by` says.",
    ),
    Operation(
        "GET",
        "/incidents/{incident_id}",
        "incident",
        "One incident: messages, classification, grouping, history, deadlines, answers",
        incident,
        IncidentDetailOut,
        errors=(401, 404, 422),
    ),
    *(
        Operation(
            "POST",
            f"/incidents/{{incident_id}}/actions/{name.value}",
            f"action_{name.value}",
            f"Action {name.value}: {body.__doc__ or ''}".strip(),
            _action_handler(name),
            ActionResultOut,
            body=body,
            errors=_ACTION_ERRORS,
            tag="actions",
        )
        for name, body in ACTION_BODIES.items()
    ),
)


def csrf_exempt(request: web.Request) -> bool:
    """Return whether this is the API's JSON sign-in (which the cookie does not authenticate)."""
    return (
        request.method == "POST"
        and request.path == PREFIX + "/session"
        and request.content_type == "application/json"
    )


def add_routes(app: web.Application) -> None:
    """Register the API's routes and its OpenAPI document."""
    app[OPENAPI] = document(OPERATIONS, version=app[SITE_INFO].version)
    app.router.add_get(PREFIX + "/openapi.json", _openapi, name="openapi")
    for op in OPERATIONS:
        app.router.add_route(op.method, PREFIX + op.path, _endpoint(op))
