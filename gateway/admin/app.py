"""The admin listener (aiohttp.web, in the supervisor process, off the hot path).

Bearer-token auth with AIGW_ADMIN_TOKEN; without it the API answers 503 on every authenticated
endpoint and says how to enable it. /health, /ready, /metrics and the OpenAPI document need no token.
"""

from __future__ import annotations

import hmac
from typing import Any, TypeVar

import aiohttp
import msgspec
from aiohttp import web

from .._version import __version__
from ..analytics.admin_api import ObservabilityAPI
from ..store import Ambiguous, Conflict, NotFound, Store
from ..store.records import App, ConsumerKey, LimitRecord, LimitRule, Tenant, UpstreamKeyRecord
from .openapi import openapi_document
from .routes import (
    AddUpstreamKey,
    AdminError,
    AdminErrorBody,
    CreatedKey,
    CreateKey,
    Endpoint,
    Health,
    Param,
    Ready,
    RotateUpstreamKey,
    UpstreamKeyState,
)
from .upstream_keys import ACTIONS, UpstreamKeys

_encoder = msgspec.json.Encoder()
T = TypeVar("T")
SCOPES = ("tenant", "app", "key", "model")


def _json(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=_encoder.encode(value), status=status, content_type="application/json")


def _error(status: int, code: str, message: str, type: str = "invalid_request_error") -> web.Response:
    return _json(AdminError(AdminErrorBody(message=message, type=type, code=code)), status)


async def _decode(request: web.Request, typ: type[T]) -> T | web.Response:
    """The request body as `typ`, or the 400 to answer. The message names the field at fault,
    never its value (a secret may be in it)."""
    try:
        return msgspec.json.decode(await request.read(), type=typ)
    except msgspec.ValidationError as exc:
        return _error(400, "invalid_request", f"Invalid request body: {exc}")
    except msgspec.DecodeError:
        return _error(400, "invalid_request", "Invalid request body: not JSON")


class AdminAPI:
    def __init__(
        self,
        store: Store,
        token: str | None,
        dataplane_url: str,
        model_groups: frozenset[str],
        upstream_keys: UpstreamKeys,
    ):
        self.store = store
        self.model_groups = model_groups
        self.upstream_keys = upstream_keys
        self.token = token
        self.dataplane_url = dataplane_url
        # Call log, analytics and /metrics (gateway/analytics/admin_api.py).
        self.observability = ObservabilityAPI(store, upstream_keys.states, upstream_keys.pool_headroom)
        self.endpoints = [
            Endpoint("GET", "/health", "Liveness of the supervisor", Health, self.health, auth=False),
            Endpoint(
                "GET", "/ready", "Ready: store open and data plane serving", Ready, self.ready, auth=False
            ),
            Endpoint("GET", "/admin/tenants", "List tenants", list[Tenant], self.list_tenants),
            Endpoint(
                "GET",
                "/admin/apps",
                "List apps",
                list[App],
                self.list_apps,
                params=(Param("tenant", "query", "Only this tenant's apps"),),
            ),
            Endpoint(
                "GET",
                "/admin/keys",
                "List consumer keys (prefixes only)",
                list[ConsumerKey],
                self.list_keys,
                params=(Param("tenant", "query", "Only this tenant"), Param("app", "query", "Only this app")),
            ),
            Endpoint(
                "POST",
                "/admin/keys",
                "Create a consumer key; the key is in this response only",
                CreatedKey,
                self.create_key,
                request=CreateKey,
                status=201,
            ),
            Endpoint(
                "GET",
                "/admin/upstream-keys",
                "Every provider key's state on this node: cooling, in flight",
                list[UpstreamKeyState],
                self.list_upstream_keys,
            ),
            Endpoint(
                "POST",
                "/admin/upstream-keys/{provider}/{key_id}/{action}",
                "disable a provider key, or enable / reset it (healthy now, cooldown cleared)",
                UpstreamKeyState,
                self.act_on_upstream_key,
                params=(
                    Param("provider", "path", "The provider's name"),
                    Param("key_id", "path", "The key's id in the config"),
                    Param("action", "path", "disable, enable or reset"),
                ),
            ),
            Endpoint(
                "POST",
                "/admin/upstream-keys/{provider}",
                "Add a key to a provider without a restart (every worker within 1 s); the secret is "
                "stored encrypted and never shown again",
                UpstreamKeyRecord,
                self.add_upstream_key,
                request=AddUpstreamKey,
                status=201,
                params=(Param("provider", "path", "The provider's name in the config"),),
            ),
            Endpoint(
                "PUT",
                "/admin/upstream-keys/{provider}/{key_id}",
                "Rotate a key added at runtime: a new secret under the same id (its state starts afresh)",
                UpstreamKeyRecord,
                self.rotate_upstream_key,
                request=RotateUpstreamKey,
                params=(
                    Param("provider", "path", "The provider's name"),
                    Param("key_id", "path", "The key's id"),
                ),
            ),
            Endpoint(
                "DELETE",
                "/admin/upstream-keys/{provider}/{key_id}",
                "Remove a key added at runtime (no worker sends with it after 1 s)",
                UpstreamKeyRecord,
                self.remove_upstream_key,
                params=(
                    Param("provider", "path", "The provider's name"),
                    Param("key_id", "path", "The key's id"),
                ),
            ),
            Endpoint(
                "GET",
                "/admin/limits",
                "List rate limits",
                list[LimitRecord],
                self.list_limits,
                params=(
                    Param("scope", "query", "tenant, app, key or model"),
                    Param("subject", "query", "tenant name, tenant/app, key id or model group"),
                ),
            ),
            Endpoint(
                "PUT",
                "/admin/limits/{scope}/{subject}",
                "Replace the limits of a tenant, app (tenant/app, URL-encoded), key or model group; "
                "every worker applies them within 1 s",
                list[LimitRecord],
                self.set_limits,
                request=list[LimitRule],
                params=(
                    Param("scope", "path", "tenant, app, key or model"),
                    Param("subject", "path", "tenant name, tenant/app, key id or model group"),
                ),
            ),
            Endpoint(
                "POST",
                "/admin/keys/{key_id}/revoke",
                "Revoke a consumer key (every worker within 1 s)",
                ConsumerKey,
                self.revoke_key,
                params=(Param("key_id", "path", "The key's id"),),
            ),
        ]
        self.endpoints += self.observability.endpoints()
        self.openapi = _encoder.encode(openapi_document(self.endpoints))

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=1024 * 1024)
        for e in self.endpoints:
            app.router.add_route(e.method, e.path, e.handler)
        app.router.add_get("/admin/openapi.json", self.openapi_json)
        # Prometheus text, not a JSON endpoint: outside the OpenAPI table; scraped without a token.
        app.router.add_get("/metrics", self.observability.metrics_text)
        self._public = {e.path for e in self.endpoints if not e.auth} | {"/admin/openapi.json", "/metrics"}
        app.on_cleanup.append(self._close_session)
        app.on_cleanup.append(self.observability.close)
        self._session: aiohttp.ClientSession | None = None
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        route = request.match_info.route.resource
        if route is not None and route.canonical not in self._public:
            if not self.token:
                return _error(
                    503,
                    "admin_disabled",
                    "The admin API is disabled: start aigw with AIGW_ADMIN_TOKEN set.",
                    "api_error",
                )
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), self.token):
                return _error(
                    401,
                    "invalid_admin_token",
                    "Send the admin token as 'Authorization: Bearer $AIGW_ADMIN_TOKEN'.",
                )
        try:
            return await handler(request)
        except web.HTTPException as exc:
            return _error(exc.status, "not_found" if exc.status == 404 else "http_error", exc.reason)
        except NotFound as exc:
            return _error(404, "not_found", str(exc))
        except Ambiguous as exc:
            return _error(409, "ambiguous", str(exc))
        except Conflict as exc:
            return _error(409, "conflict", str(exc))

    async def openapi_json(self, request: web.Request) -> web.Response:
        return web.Response(body=self.openapi, content_type="application/json")

    async def health(self, request: web.Request) -> web.Response:
        return _json(Health(status="ok", version=__version__))

    async def ready(self, request: web.Request) -> web.Response:
        try:
            generation: int | None = self.store.generation()
        except Exception:
            generation = None
        dataplane = await self._dataplane_up()
        ok = generation is not None and dataplane
        state = Ready(ready=ok, store=generation is not None, dataplane=dataplane, generation=generation)
        return _json(state, 200 if ok else 503)

    async def _dataplane_up(self) -> bool:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2))
        try:
            async with self._session.get(self.dataplane_url + "/health") as resp:
                return resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def _close_session(self, app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def list_tenants(self, request: web.Request) -> web.Response:
        return _json(self.store.list_tenants())

    async def list_apps(self, request: web.Request) -> web.Response:
        return _json(self.store.list_apps(request.query.get("tenant")))

    async def list_keys(self, request: web.Request) -> web.Response:
        return _json(self.store.list_keys(request.query.get("tenant"), request.query.get("app")))

    async def create_key(self, request: web.Request) -> web.Response:
        try:
            body = msgspec.json.decode(await request.read(), type=CreateKey)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return _error(400, "invalid_request", f"Invalid request body: {exc}")
        record, secret = self.store.create_key(body.app, body.tenant, body.name)
        return _json(CreatedKey(record=record, key=secret), 201)

    async def list_upstream_keys(self, request: web.Request) -> web.Response:
        return _json(self.upstream_keys.states())

    async def act_on_upstream_key(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in ACTIONS:
            return _error(400, "invalid_action", f"action must be one of {', '.join(ACTIONS)}")
        try:
            state = self.upstream_keys.act(
                request.match_info["provider"], request.match_info["key_id"], action
            )
        except KeyError as exc:
            return _error(404, "not_found", str(exc.args[0]))
        return _json(state)

    async def add_upstream_key(self, request: web.Request) -> web.Response:
        body = await _decode(request, AddUpstreamKey)
        if isinstance(body, web.Response):
            return body
        record = self.upstream_keys.add(request.match_info["provider"], body.key_id, body.secret)
        return _json(record, 201)

    async def rotate_upstream_key(self, request: web.Request) -> web.Response:
        body = await _decode(request, RotateUpstreamKey)
        if isinstance(body, web.Response):
            return body
        m = request.match_info
        return _json(self.upstream_keys.rotate(m["provider"], m["key_id"], body.secret))

    async def remove_upstream_key(self, request: web.Request) -> web.Response:
        m = request.match_info
        return _json(self.upstream_keys.remove(m["provider"], m["key_id"]))

    async def list_limits(self, request: web.Request) -> web.Response:
        scope = request.query.get("scope")
        if scope is not None and scope not in SCOPES:
            return _error(400, "invalid_scope", f"scope must be one of {', '.join(SCOPES)}")
        return _json(self.store.list_limits(scope, request.query.get("subject")))  # type: ignore[arg-type]

    async def set_limits(self, request: web.Request) -> web.Response:
        scope = request.match_info["scope"]
        subject = request.match_info["subject"]
        if scope not in SCOPES:
            return _error(400, "invalid_scope", f"scope must be one of {', '.join(SCOPES)}")
        if scope == "model" and subject not in self.model_groups:
            return _error(404, "not_found", f"no model group {subject!r}")
        try:
            rules = msgspec.json.decode(await request.read(), type=list[LimitRule])
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return _error(400, "invalid_request", f"Invalid request body: {exc}")
        return _json(self.store.set_limits(scope, subject, rules))  # type: ignore[arg-type]

    async def revoke_key(self, request: web.Request) -> web.Response:
        return _json(self.store.revoke_key(request.match_info["key_id"]))
