"""OpenAPI 3.1 document generated from the admin endpoint table and its msgspec types."""

from __future__ import annotations

from typing import Any

import msgspec

from .._version import __version__
from .routes import HEADERS_DOC, AdminError, Endpoint

_REF = "#/components/schemas/{name}"
_DESCRIPTION = (
    "The admin API of one aigw node. A change the data plane serves (consumer keys, apps, "
    "services, subscriptions, limits, budgets, provider keys) is answered once every worker of the "
    "node serves it, so the next call sees it whichever worker takes it; those answers carry "
    "aigw-config-generation and aigw-config-applied (false: a worker had not loaded the change "
    "within 4 x server.reload_interval_s + 1 s, and does at its next reload; GET /ready's "
    "loaded_generation says when every worker serves it)."
)


def openapi_document(endpoints: list[Endpoint]) -> dict[str, Any]:
    types: list[Any] = [AdminError]
    for e in endpoints:
        types.append(e.response)
        if e.request is not None:
            types.append(e.request)
        types += [body for _, _, body in e.answers]
    schemas, components = msgspec.json.schema_components(types, ref_template=_REF)
    by_type = dict(zip(types, schemas, strict=True))
    error = {"content": {"application/json": {"schema": by_type[AdminError]}}}
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        op: dict[str, Any] = {
            "summary": e.summary,
            "operationId": _operation_id(e),
            "responses": {
                str(e.status): {
                    "description": e.summary,
                    "content": {
                        "application/json": {"schema": by_type[e.response]},
                        **{media: {"schema": {"type": "string"}} for media in e.alternatives},
                    },
                    **({"headers": HEADERS_DOC} if e.reaches_workers else {}),
                },
            },
        }
        if e.auth:
            op["security"] = [{"bearer": []}]
            op["responses"]["401"] = {"description": "Missing or wrong admin token", **error}
            op["responses"]["403"] = {"description": "The token's tenant or role may not do this", **error}
            op["responses"]["503"] = {"description": "The admin API is disabled (no token set)", **error}
        if e.request is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": by_type[e.request]}},
            }
        if e.request is not None or e.params:
            op["responses"]["400"] = {"description": "Invalid request body or parameter", **error}
        if e.request is not None or e.method != "GET":
            op["responses"]["409"] = {"description": "Conflicts with the current state", **error}
        if e.params:
            op["parameters"] = [
                {
                    "name": p.name,
                    "in": p.where,
                    "required": p.where == "path",
                    "description": p.description,
                    "schema": {"type": "string"},
                }
                for p in e.params
            ]
        if any(p.where == "path" for p in e.params) or e.request is not None:
            op["responses"]["404"] = {"description": "Not found", **error}
        for status, description, body in e.answers:
            op["responses"][str(status)] = {
                "description": description,
                "content": {"application/json": {"schema": by_type[body]}},
            }
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "aigw admin API", "version": __version__, "description": _DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation_id(e: Endpoint) -> str:
    words = e.path.strip("/").replace("{", "").replace("}", "").replace("/", "_")
    return f"{e.method.lower()}_{words}"
