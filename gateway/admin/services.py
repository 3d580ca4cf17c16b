"""Admin endpoints for services (the AI APIs a tenant publishes) and their versions' lifecycle:
draft → published → deprecated → retired."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from aiohttp import web

from ..store import Conflict, Store
from ..store.tenancy_records import NewService, NewVersion, Service, ServiceVersion, Transition
from .access import DEVELOP, MANAGE, READ
from .responses import decode, int_param, json_response
from .routes import Endpoint, Param
from .tenant_scope import ScopedAPI, TenantScope

VERSION_ACTIONS = ("publish", "deprecate", "retire")
_SERVICE = Param("service", "path", "The service's name")


class ServicesAPI(ScopedAPI):
    def __init__(self, store: Store, scope: TenantScope, model_groups: Callable[[], frozenset[str]]):
        super().__init__(store, scope)
        self.model_groups = model_groups

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "POST",
                "/admin/services",
                "Create a service (versions are added as drafts)",
                Service,
                self.create_service,
                request=NewService,
                status=201,
                reaches_workers=True,
            ),
            Endpoint(
                "GET",
                "/admin/services",
                "Services of a tenant, every version and state",
                list[Service],
                self.list_services,
                params=(Param("tenant", "query", "Only this tenant's"),),
                tenant_query=True,
            ),
            Endpoint(
                "GET",
                "/admin/services/{service}",
                "One service",
                Service,
                self.get_service,
                params=(_SERVICE,),
            ),
            Endpoint(
                "POST",
                "/admin/services/{service}/versions",
                "Add a version (a draft)",
                ServiceVersion,
                self.add_version,
                request=NewVersion,
                params=(_SERVICE,),
                status=201,
                reaches_workers=True,
            ),
            Endpoint(
                "POST",
                "/admin/services/{service}/versions/{version}/{action}",
                "publish, deprecate or retire a version (admin)",
                ServiceVersion,
                self.transition,
                request=Transition,
                params=(
                    _SERVICE,
                    Param("version", "path", "The version number"),
                    Param("action", "path", "publish, deprecate or retire"),
                ),
                reaches_workers=True,
            ),
        ]

    async def create_service(self, request: web.Request) -> web.Response:
        body: NewService = await decode(request, NewService)
        self.scope.require(request, body.tenant, DEVELOP)
        if body.name in self.model_groups():
            raise Conflict(f"{body.name!r} is a model group's name; callers could not tell them apart")
        return json_response(self.store.create_service(body), 201)

    async def list_services(self, request: web.Request) -> web.Response:
        tenant = request.query.get("tenant")
        self.scope.require_listing(request, tenant, READ)
        return json_response(self.store.list_services(tenant))

    async def get_service(self, request: web.Request) -> web.Response:
        return json_response(self.scope.require_service(request, request.match_info["service"], READ))

    async def add_version(self, request: web.Request) -> web.Response:
        service = self.scope.require_service(request, request.match_info["service"], DEVELOP)
        body: NewVersion = await decode(request, NewVersion)
        if body.model_group not in self.model_groups():
            raise msgspec.ValidationError(f"no model group {body.model_group!r} - at `$.model_group`")
        if (body.kind == "prompt") != (body.prompt is not None):
            raise msgspec.ValidationError(
                "a prompt version needs `prompt`, a model version must not have one"
            )
        if body.kind == "prompt" and body.defaults is not None:
            raise msgspec.ValidationError("`defaults` are for model routes; a prompt sets its own")
        return json_response(self.store.add_version(service.name, body), 201)

    async def transition(self, request: web.Request) -> web.Response:
        service = self.scope.require_service(request, request.match_info["service"], MANAGE)
        action = request.match_info["action"]
        if action not in VERSION_ACTIONS:
            raise msgspec.ValidationError(f"action must be one of {', '.join(VERSION_ACTIONS)}")
        version = int_param(request.match_info["version"], "version")
        body: Transition = await decode(request, Transition) if await request.read() else Transition()
        return json_response(self.store.transition(service.name, version or 0, action, body.sunset_at))
