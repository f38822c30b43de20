"""The OpenAPI 3.1 document of the JSON API, generated from its operation table and models.

Every route of the API is one ``Operation``; the same table registers the routes (web/api/
views.py) and writes this document, and the request and response schemas come from the
pydantic models that validate and serialise them, so the document cannot drift.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from web.api.models import ID_MAX, ErrorOut

__all__ = ["PREFIX", "Operation", "document"]

#: Where the API lives.
PREFIX = "/api/v1"

_REF = "#/components/schemas/{model}"

_ERROR_TEXT = {
    400: "Malformed input (not JSON, a damaged cursor, a value the service refuses).",
    401: "No session and no valid token (or the user was disabled).",
    403: "The caller's role may not do this, or a cookie call lacks its X-CSRF-Token.",
    404: "No such incident, or one outside the caller's scope (told apart from nothing).",
    409: "The incident changed since the given version: read it again and decide again.",
    413: "The request body is larger than 1 MiB.",
    415: "The body must be application/json.",
    422: "Invalid input: `field` names the field; or the action is impossible in this state.",
    429: "Too many failed sign-ins: retry after Retry-After seconds.",
}


@dataclass(frozen=True, slots=True)
class Operation:
    """One route of the API: what it takes and answers, and who may call it."""

    method: str
    path: str  # under PREFIX, with {incident_id} for the incident's id
    operation_id: str
    summary: str
    handler: Callable[..., Awaitable[BaseModel | web.StreamResponse | None]]
    response: type[BaseModel] | None  # None: 204 No Content (or a file, see ``files``)
    status: int = 200
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    authenticated: bool = True
    tag: str = "incidents"
    description: str = ""
    #: A file download instead of JSON: its media types (the handler streams the body).
    files: tuple[str, ...] = ()


def _query_schema(prop: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema: a query string has no null, so ``X | None`` is just X (omitted)."""
    schema = {k: v for k, v in prop.items() if k not in ("description", "title")}
    options = schema.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1:
            del schema["anyOf"]
            schema.update(kept[0])
    if schema.get("default", 0) is None:
        del schema["default"]
    return schema


def _parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _query_schema(prop),
        }
        if "description" in prop:
            param["description"] = prop["description"]
        if prop.get("type") == "array":
            param["style"] = "form"
            param["explode"] = True
        params.append(param)
    return params


def _response(status: int, model: type[BaseModel] | None, text: str) -> dict[str, Any]:
    if model is None:
        return {"description": text}
    return {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}},
    }


def document(operations: Sequence[Operation], *, version: str) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of these operations."""
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(ErrorOut, "serialization"): None}
    for op in operations:
        if op.query is not None:
            wanted[(op.query, "validation")] = None
        if op.body is not None:
            wanted[(op.body, "validation")] = None
        if op.response is not None:
            wanted[(op.response, "serialization")] = None
    _, top = models_json_schema(list(wanted), ref_template=_REF)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.tag],
        }
        if op.description:
            entry["description"] = op.description
        parameters: list[dict[str, Any]] = []
        if "{incident_id}" in op.path:
            parameters.append(
                {
                    "name": "incident_id",
                    "in": "path",
                    "required": True,
                    "description": "The incident's id.",
                    "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
                }
            )
        if op.query is not None:
            query_schema = schemas.pop(op.query.__name__)
            parameters.extend(_parameters(query_schema))
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": _REF.format(model=op.body.__name__)}}
                },
            }
        responses = {str(op.status): _response(op.status, op.response, "Success.")}
        if op.files:
            binary = {"schema": {"type": "string", "format": "binary"}}
            responses[str(op.status)] = {
                "description": "The file, streamed (chunked), as an attachment.",
                "content": {media: binary for media in op.files},
            }
        statuses = set(op.errors) | ({413} if op.body is not None else set())
        for status in sorted(statuses):
            responses[str(status)] = _response(status, ErrorOut, _ERROR_TEXT[status])
        entry["responses"] = responses
        entry["security"] = [{"bearer": []}, {"session": []}] if op.authenticated else []
        paths.setdefault(PREFIX + op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Incident Management API",
            "version": version,
            "description": "The operators' and executors' workspace as JSON: see docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `incident-management users token LOGIN` "
                    "or POST /api/v1/tokens.",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "im_session",
                    "description": "The session cookie of POST /api/v1/session; unsafe calls "
                    "also need the X-CSRF-Token header.",
                },
            },
        },
    }
