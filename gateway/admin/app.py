"""The admin listener (aiohttp.web, in the supervisor process, off the hot path).

Bearer-token auth: AIGW_ADMIN_TOKEN is the operator's; stored admin tokens act globally or for one
tenant with their user's role (gateway/admin/access.py, docs/tenancy.md). Every authenticated
request is written to the audit log. Without AIGW_ADMIN_TOKEN and without stored tokens the API
answers 503 and says how to enable it. /health, /ready, /metrics and the OpenAPI document need no
token.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import msgspec
from aiohttp import web

from .._version import __version__
from ..cluster.membership import ClusterStatus
from ..config.changes import Reloaded, ReloadRefused
from ..console.assets import Console
from ..keypool.event_log import KeyEventPage
from ..store import Ambiguous, Conflict, NotFound, Store, StoreUnavailable
from ..store.records import App, ConsumerKey, LimitRecord, LimitRule, Tenant, UpstreamKeyRecord
from .access import DEVELOP, MANAGE, OWN, Forbidden, Principal, Unauthorized, bootstrap_principal
from .budgets import BudgetAPI
from .observability import ObservabilityAPI
from .openapi import openapi_document
from .propagation import Propagation
from .responses import AUDIT_TENANT, PRINCIPAL, error_response, int_param, json_response, principal
from .routes import (
    AddUpstreamKey,
    AdminErrorBody,
    CreatedKey,
    CreateKey,
    Endpoint,
    Health,
    Param,
    Ready,
    ReloadRefusal,
    RotateUpstreamKey,
    UpstreamKeyState,
    decode_key_change,
)
from .tenancy import tenancy_endpoints
from .tenant_scope import TenantScope
from .try_prompt import TryPromptAPI
from .upstream_keys import ACTIONS, UpstreamKeys

log = logging.getLogger("aigw.admin")
_json = json_response
_error = error_response
SCOPES = ("tenant", "app", "key", "model", "service")


def _unavailable(exc: StoreUnavailable) -> web.Response:
    # The data plane keeps serving what it loaded; only reading and changing the store wait.
    return _error(
        503,
        "store_unavailable",
        f"The store cannot be reached, so this cannot be read or changed now ({exc}). The gateway "
        "keeps serving with what it loaded; retry once the store is back.",
        "api_error",
    )


def _forbidden(exc: Forbidden) -> web.Response:
    return _error(403, "forbidden", str(exc), "permission_error")


def _formats(e: Endpoint) -> tuple[str, ...]:
    """The media types an analytics endpoint's `format` parameter selects."""
    if e.path.endswith("/export"):
        return ("text/csv", "application/x-ndjson")
    return ("text/csv",) if any(p.name == "format" for p in e.params) else ()


class AdminAPI:
    def __init__(
        self,
        store: Store,
        token: str | None,
        dataplane_url: str,
        model_groups: Callable[[], frozenset[str]],
        upstream_keys: UpstreamKeys,
        region: Any = None,
        propagation: Propagation | None = None,
        reload: Callable[[bool], Awaitable[Reloaded]] | None = None,
        cluster: Callable[[], ClusterStatus] | None = None,
    ):
        self.store = store
        # The node's config reload (gateway/node/reload.py): None outside a node.
        self._reload = reload
        # What this node knows of its cluster (gateway/cluster); None: a listener outside a node.
        self.cluster = cluster
        # Changes the data plane serves are answered once every worker serves them (None: at once).
        self.propagation = propagation
        # The model groups of the config the node serves now (a reload changes them).
        self.model_groups = model_groups
        self.upstream_keys = upstream_keys
        self.token = token
        self.dataplane_url = dataplane_url
        self.scope = TenantScope(store)
        # Budgets, with what each used of its period (read from the node's region when given).
        budgets = BudgetAPI(store, self.scope, region)
        # Call log, analytics and /metrics (observability.py).
        self.observability = ObservabilityAPI(
            store, upstream_keys.states, upstream_keys.pool_headroom, budgets.used_ratios, cluster
        )
        runtime_key = (  # a provider key added at runtime, named in the path
            Param("provider", "path", "The provider's name"),
            Param("key_id", "path", "The key's id"),
        )
        self.endpoints = [
            Endpoint("GET", "/health", "Liveness of the supervisor", Health, self.health, auth=False),
            Endpoint(
                "GET", "/ready", "Ready: store open and data plane serving", Ready, self.ready, auth=False
            ),
            Endpoint(
                "GET",
                "/admin/cluster",
                "The cluster as this node sees it: every node's version, config generation, last "
                "heartbeat and state, and whether this node is degraded (Redis unreachable)",
                ClusterStatus,
                self.cluster_status,
            ),
            Endpoint("GET", "/admin/tenants", "List tenants", list[Tenant], self.list_tenants),
            Endpoint(
                "GET",
                "/admin/apps",
                "List apps",
                list[App],
                self.list_apps,
                params=(Param("tenant", "query", "Only this tenant's apps"),),
                tenant_query=True,
            ),
            Endpoint(
                "GET",
                "/admin/keys",
                "List consumer keys (prefixes only)",
                list[ConsumerKey],
                self.list_keys,
                params=(Param("tenant", "query", "Only this tenant"), Param("app", "query", "Only this app")),
                tenant_query=True,
            ),
            Endpoint(
                "POST",
                "/admin/keys",
                "Create a consumer key; the key is in this response only",
                CreatedKey,
                self.create_key,
                request=CreateKey,
                status=201,
                reaches_workers=True,
            ),
            Endpoint(
                "GET",
                "/admin/upstream-keys",
                "Every provider key's state on this node: cooling, in flight",
                list[UpstreamKeyState],
                self.list_upstream_keys,
            ),
            Endpoint(
                "GET",
                "/admin/upstream-key-events",
                "Recent provider-key events on this node (cooling, exhausted, invalid, disabled, "
                "recovered), oldest first; poll with after = the last answer's `last`",
                KeyEventPage,
                self.list_key_events,
                params=(
                    Param("after", "query", "Only events numbered above this (default 0: all kept)"),
                    Param("limit", "query", "At most this many (default 100, at most 1000)"),
                ),
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
                "Add a key to a provider without a restart; the secret is stored encrypted and never "
                "shown again",
                UpstreamKeyRecord,
                self.add_upstream_key,
                request=AddUpstreamKey,
                status=201,
                params=(Param("provider", "path", "The provider's name in the config"),),
                reaches_workers=True,
            ),
            Endpoint(
                "PUT",
                "/admin/upstream-keys/{provider}/{key_id}",
                "Rotate a key added at runtime: a new secret under the same id (its state starts afresh)",
                UpstreamKeyRecord,
                self.rotate_upstream_key,
                request=RotateUpstreamKey,
                params=runtime_key,
                reaches_workers=True,
            ),
            Endpoint(
                "DELETE",
                "/admin/upstream-keys/{provider}/{key_id}",
                "Remove a key added at runtime",
                UpstreamKeyRecord,
                self.remove_upstream_key,
                params=runtime_key,
                reaches_workers=True,
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
                "Replace the limits of a tenant, app (tenant/app, URL-encoded), key or model group",
                list[LimitRecord],
                self.set_limits,
                request=list[LimitRule],
                params=(
                    Param("scope", "path", "tenant, app, key or model"),
                    Param("subject", "path", "tenant name, tenant/app, key id or model group"),
                ),
                reaches_workers=True,
            ),
            Endpoint(
                "POST",
                "/admin/keys/{key_id}/revoke",
                "Revoke a consumer key",
                ConsumerKey,
                self.revoke_key,
                params=(Param("key_id", "path", "The key's id"),),
                reaches_workers=True,
            ),
            Endpoint(
                "POST",
                "/admin/config/reload",
                "Reload the node's config file without a restart (operator): it is checked first, "
                "and served by every worker from its next request on; requests in flight finish on "
                "the config they started with",
                Reloaded,
                self.reload_config,
                params=(Param("dry_run", "query", "true: only check the file and say what would change"),),
                reaches_workers=True,
                answers=(
                    (
                        422,
                        "The file cannot be reloaded: every problem, including each change that needs a "
                        "restart; the running config keeps serving",
                        ReloadRefusal,
                    ),
                ),
            ),
        ]
        # Before the services' `/versions/{version}/{action}`, which would otherwise take `try`.
        self.try_prompt = TryPromptAPI(store, self.scope, dataplane_url, propagation)
        self.endpoints += self.try_prompt.endpoints()
        self.endpoints += tenancy_endpoints(store, self.scope, model_groups)
        self.endpoints += budgets.endpoints()
        # Calls and stats filter by tenant: a tenant token sees its own only.
        self.endpoints += [
            dataclasses.replace(e, tenant_query=True, alternatives=_formats(e))
            for e in self.observability.endpoints()
        ]
        self.openapi = msgspec.json.encode(openapi_document(self.endpoints))

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=1024 * 1024)
        self._by_route: dict[Any, Endpoint] = {}
        for e in self.endpoints:
            self._by_route[app.router.add_route(e.method, e.path, e.handler)] = e
        app.router.add_get("/admin/openapi.json", self.openapi_json)
        # Prometheus text, not a JSON endpoint: outside the OpenAPI table; scraped without a token.
        app.router.add_get("/metrics", self.observability.metrics_text)
        # The web console's files (no data in them: it calls this API with its user's token).
        Console().mount(app)
        app.on_cleanup.append(self._close_session)
        app.on_cleanup.append(self.try_prompt.close)
        app.on_cleanup.append(self.observability.close)
        self._session: aiohttp.ClientSession | None = None
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        endpoint = self._by_route.get(request.match_info.route)
        if endpoint is None or not endpoint.auth:
            return await self._answer(request, handler)
        try:
            principal = self._principal(request)
        except StoreUnavailable as exc:
            return _unavailable(exc)
        except Unauthorized as exc:
            if not self.token and not self.store.list_admin_tokens():
                return _error(
                    503,
                    "admin_disabled",
                    "The admin API is disabled: start aigw with AIGW_ADMIN_TOKEN set.",
                    "api_error",
                )
            return _error(401, "invalid_admin_token", str(exc))
        if endpoint.tenant_query and principal.tenant is not None:
            asked = request.query.get("tenant")
            if asked is not None and asked != principal.tenant:
                refused = _forbidden(Forbidden(f"this token acts for tenant {principal.tenant!r} only"))
                self._audit(request, principal, refused.status)
                return refused
            request = request.clone(rel_url=request.rel_url.update_query(tenant=principal.tenant))
        request[PRINCIPAL] = principal
        response = await self._answer(request, handler)
        if endpoint.reaches_workers and response.status < 300 and self.propagation is not None:
            await self.propagation.settle(response)
        try:
            self._audit(request, principal, response.status)
        except StoreUnavailable as exc:
            log.warning("audit record of %s %s lost: %s", request.method, request.path, exc)
        return response

    def _principal(self, request: web.Request) -> Principal:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        given = given.strip()
        if scheme.lower() != "bearer" or not given:
            raise Unauthorized("Send an admin token as 'Authorization: Bearer <token>'.")
        principal = bootstrap_principal(given, self.token)
        if principal is not None:
            return principal
        token = self.store.admin_token_by_secret(given)
        if token is None:
            raise Unauthorized("This admin token is not valid (unknown, revoked or expired).")
        if token.tenant is None:
            return Principal(user=token.user, token_id=token.id, tenant=None, role="operator")
        member = self.store.member(token.tenant, token.user)
        if member is None:
            raise Unauthorized(f"{token.user!r} is no longer a member of tenant {token.tenant!r}.")
        return Principal(user=token.user, token_id=token.id, tenant=token.tenant, role=member.role)

    def _audit(self, request: web.Request, principal: Principal, status: int) -> None:
        # Who, what, when, from where: every authenticated read and change.
        tenant = request.get(AUDIT_TENANT) or principal.tenant or ""
        self.store.audit(
            principal.user,
            principal.token_id,
            tenant,
            request.method,
            request.path_qs,
            status,
            request.remote or "",
        )

    async def _answer(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except web.HTTPException as exc:
            return _error(exc.status, "not_found" if exc.status == 404 else "http_error", exc.reason)
        except Forbidden as exc:
            return _forbidden(exc)
        except NotFound as exc:
            return _error(404, "not_found", str(exc))
        except Ambiguous as exc:
            return _error(409, "ambiguous", str(exc))
        except Conflict as exc:
            return _error(409, "conflict", str(exc))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return _error(400, "invalid_request", f"Invalid request body: {exc}")
        except StoreUnavailable as exc:
            return _unavailable(exc)

    async def openapi_json(self, request: web.Request) -> web.Response:
        return web.Response(body=self.openapi, content_type="application/json")

    async def health(self, request: web.Request) -> web.Response:
        # Degraded is still alive: the node serves on local state (docs/cluster.md).
        status = self.cluster() if self.cluster is not None else None
        if status is None or not status.clustered:
            return _json(Health(status="ok", version=__version__))
        degraded = status.degraded
        return _json(
            Health(status="degraded" if degraded else "ok", version=__version__, cluster=status.redis)
        )

    async def cluster_status(self, request: web.Request) -> web.Response:
        principal(request).require(None, OWN)
        if self.cluster is None:
            return _error(404, "not_found", "this admin listener runs outside a node")
        return _json(self.cluster())

    async def ready(self, request: web.Request) -> web.Response:
        try:
            generation: int | None = self.store.generation()
        except Exception:
            generation = None
        dataplane = await self._dataplane_up()
        ok = generation is not None and dataplane
        loaded = None if self.propagation is None else self.propagation.loaded_generation()
        state = Ready(
            ready=ok,
            store=generation is not None,
            dataplane=dataplane,
            generation=generation,
            loaded_generation=loaded,
        )
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
        viewer = principal(request)
        return _json([t for t in self.store.list_tenants() if viewer.tenant in (None, t.name)])

    async def list_apps(self, request: web.Request) -> web.Response:
        return _json(self.store.list_apps(request.query.get("tenant")))

    async def list_keys(self, request: web.Request) -> web.Response:
        return _json(self.store.list_keys(request.query.get("tenant"), request.query.get("app")))

    async def create_key(self, request: web.Request) -> web.Response:
        try:
            body = msgspec.json.decode(await request.read(), type=CreateKey)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return _error(400, "invalid_request", f"Invalid request body: {exc}")
        self.scope.require_app(request, body.app, body.tenant, DEVELOP)
        record, secret = self.store.create_key(body.app, body.tenant, body.name)
        return _json(CreatedKey(record=record, key=secret), 201)

    async def list_upstream_keys(self, request: web.Request) -> web.Response:
        principal(request).require(None, OWN)
        return _json(self.upstream_keys.states())

    async def list_key_events(self, request: web.Request) -> web.Response:
        principal(request).require(None, OWN)
        after = int_param(request.query.get("after"), "after") or 0
        limit = min(int_param(request.query.get("limit"), "limit") or 100, 1000)
        return _json(self.upstream_keys.events.after(after, limit))

    async def act_on_upstream_key(self, request: web.Request) -> web.Response:
        principal(request).require(None, OWN)
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
        principal(request).require(None, OWN)
        # A bad body is answered by _guard; the message names the field, never its value.
        body = decode_key_change(await request.read(), AddUpstreamKey)
        record = self.upstream_keys.add(request.match_info["provider"], body.key_id, body.secret)
        return _json(record, 201)

    async def rotate_upstream_key(self, request: web.Request) -> web.Response:
        principal(request).require(None, OWN)
        body = decode_key_change(await request.read(), RotateUpstreamKey)
        m = request.match_info
        return _json(self.upstream_keys.rotate(m["provider"], m["key_id"], body.secret))

    async def remove_upstream_key(self, request: web.Request) -> web.Response:
        principal(request).require(None, OWN)
        m = request.match_info
        return _json(self.upstream_keys.remove(m["provider"], m["key_id"]))

    async def reload_config(self, request: web.Request) -> web.Response:
        principal(request).require(None, OWN)
        if self._reload is None:
            return _error(503, "no_node", "This admin listener serves no node to reload.", "api_error")
        dry_run = request.query.get("dry_run", "false").lower() in ("1", "true", "yes")
        try:
            return _json(await self._reload(dry_run))
        except ReloadRefused as exc:
            body = AdminErrorBody(
                message=f"The config file cannot be reloaded ({len(exc.problems)} problem(s)); the "
                "running config keeps serving: " + "; ".join(exc.problems),
                type="invalid_request_error",
                code="config_refused",
            )
            return _json(ReloadRefusal(error=body, problems=exc.problems, changes=exc.changes), 422)

    async def list_limits(self, request: web.Request) -> web.Response:
        scope = request.query.get("scope")
        if scope is not None and scope not in SCOPES:
            return _error(400, "invalid_scope", f"scope must be one of {', '.join(SCOPES)}")
        viewer = principal(request)
        limits = self.store.list_limits(scope, request.query.get("subject"))  # type: ignore[arg-type]
        if viewer.tenant is not None:
            limits = [r for r in limits if self.scope.subject_tenant(r.scope, r.subject) == viewer.tenant]
        return _json(limits)

    async def set_limits(self, request: web.Request) -> web.Response:
        scope = request.match_info["scope"]
        subject = request.match_info["subject"]
        if scope not in SCOPES:
            return _error(400, "invalid_scope", f"scope must be one of {', '.join(SCOPES)}")
        if scope == "model" and subject not in self.model_groups():
            return _error(404, "not_found", f"no model group {subject!r}")
        tenant = self.scope.subject_tenant(scope, subject)
        principal(request).require(tenant, MANAGE)
        request[AUDIT_TENANT] = tenant or ""
        try:
            rules = msgspec.json.decode(await request.read(), type=list[LimitRule])
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return _error(400, "invalid_request", f"Invalid request body: {exc}")
        return _json(self.store.set_limits(scope, subject, rules))  # type: ignore[arg-type]

    async def revoke_key(self, request: web.Request) -> web.Response:
        key = self.scope.require_key(request, request.match_info["key_id"], DEVELOP)
        return _json(self.store.revoke_key(key.id))
