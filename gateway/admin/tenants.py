"""Admin endpoints for tenants, their members (with roles) and their apps."""

from __future__ import annotations

import msgspec
from aiohttp import web

from ..store import NotFound
from ..store.records import App, Tenant
from ..store.tenancy_records import Member, Name, Role
from .access import DEVELOP, OWN, READ
from .responses import decode, json_response
from .routes import Endpoint, Param
from .tenant_scope import ScopedAPI

_TENANT = Param("tenant", "path", "The tenant's name")


class NewTenant(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name


class MemberRole(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    role: Role


class NewApp(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    tenant: str
    name: Name
    # Model groups this app may call without a subscription; "*" means all.
    models: list[str] = msgspec.field(default_factory=lambda: ["*"])


class TenantsAPI(ScopedAPI):
    def endpoints(self) -> list[Endpoint]:
        member_params = (_TENANT, Param("user", "path", "The member's user name"))
        return [
            Endpoint(
                "POST",
                "/admin/tenants",
                "Create a tenant (operator)",
                Tenant,
                self.create_tenant,
                request=NewTenant,
                status=201,
            ),
            Endpoint(
                "GET",
                "/admin/tenants/{tenant}/members",
                "A tenant's members and their roles",
                list[Member],
                self.list_members,
                params=(_TENANT,),
            ),
            Endpoint(
                "PUT",
                "/admin/tenants/{tenant}/members/{user}",
                "Add a member or change their role (owner)",
                Member,
                self.set_member,
                request=MemberRole,
                params=member_params,
            ),
            Endpoint(
                "DELETE",
                "/admin/tenants/{tenant}/members/{user}",
                "Remove a member (owner)",
                Member,
                self.remove_member,
                params=member_params,
            ),
            Endpoint(
                "POST",
                "/admin/apps",
                "Create an app (or change the model groups it may call)",
                App,
                self.create_app,
                request=NewApp,
                status=201,
                reaches_workers=True,
            ),
        ]

    async def create_tenant(self, request: web.Request) -> web.Response:
        body: NewTenant = await decode(request, NewTenant)
        self.scope.require(request, None, OWN)
        return json_response(self.store.ensure_tenant(body.name), 201)

    async def list_members(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        self.scope.require(request, tenant, READ)
        return json_response(self.store.list_members(tenant))

    async def set_member(self, request: web.Request) -> web.Response:
        tenant, user = request.match_info["tenant"], request.match_info["user"]
        self.scope.require(request, tenant, OWN)
        body: MemberRole = await decode(request, MemberRole)
        return json_response(self.store.set_member(tenant, user, body.role))

    async def remove_member(self, request: web.Request) -> web.Response:
        tenant, user = request.match_info["tenant"], request.match_info["user"]
        self.scope.require(request, tenant, OWN)
        member = self.store.member(tenant, user)
        if member is None:
            raise NotFound(f"{user!r} is not a member of tenant {tenant!r}")
        self.store.remove_member(tenant, user)
        return json_response(member)

    async def create_app(self, request: web.Request) -> web.Response:
        body: NewApp = await decode(request, NewApp)
        self.scope.require(request, body.tenant, DEVELOP)
        self.store.list_members(body.tenant)  # the tenant must exist: apps never create tenants here
        return json_response(self.store.ensure_app(body.tenant, body.name, body.models), 201)
