"""Admin endpoints for admin tokens: who the caller's token acts as, and tokens created, listed
and revoked (a member's, acting with their role in one tenant, or a global operator's)."""

from __future__ import annotations

import time
from typing import Annotated

import msgspec
from aiohttp import web

from ..store import NotFound
from ..store.tenancy_records import AdminToken
from .access import MANAGE, OWN
from .responses import decode, json_response, principal
from .routes import Endpoint, Param
from .tenant_scope import ScopedAPI


class NewAdminToken(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A token acting as `user`: for `tenant` with the user's role there, or global (operator)."""

    user: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    tenant: str | None = None
    ttl_s: Annotated[float, msgspec.Meta(gt=0)] | None = None


class CreatedAdminToken(msgspec.Struct, kw_only=True):
    """The new token's record and the token itself — shown this once, never again."""

    record: AdminToken
    token: str


class WhoAmI(msgspec.Struct, kw_only=True):
    user: str
    token_id: str
    tenant: str | None
    role: str


class AdminTokensAPI(ScopedAPI):
    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("GET", "/admin/whoami", "The caller's identity, tenant and role", WhoAmI, self.whoami),
            Endpoint(
                "POST",
                "/admin/tokens",
                "Create an admin token for a member (owner) or a global one (operator); shown once",
                CreatedAdminToken,
                self.create_token,
                request=NewAdminToken,
                status=201,
            ),
            Endpoint(
                "GET",
                "/admin/tokens",
                "Admin tokens (prefixes only)",
                list[AdminToken],
                self.list_tokens,
                params=(Param("tenant", "query", "Only this tenant's"),),
                tenant_query=True,
            ),
            Endpoint(
                "POST",
                "/admin/tokens/{token_id}/revoke",
                "Revoke an admin token",
                AdminToken,
                self.revoke_token,
                params=(Param("token_id", "path", "The token's id"),),
            ),
        ]

    async def whoami(self, request: web.Request) -> web.Response:
        who = principal(request)
        return json_response(WhoAmI(user=who.user, token_id=who.token_id, tenant=who.tenant, role=who.role))

    async def create_token(self, request: web.Request) -> web.Response:
        body: NewAdminToken = await decode(request, NewAdminToken)
        self.scope.require(request, body.tenant, OWN)
        if body.tenant is not None and self.store.member(body.tenant, body.user) is None:
            raise NotFound(f"{body.user!r} is not a member of tenant {body.tenant!r}; add them first")
        expires = time.time() + body.ttl_s if body.ttl_s else None
        record, secret = self.store.create_admin_token(body.user, body.tenant, expires)
        return json_response(CreatedAdminToken(record=record, token=secret), 201)

    async def list_tokens(self, request: web.Request) -> web.Response:
        tenant = request.query.get("tenant")
        self.scope.require_listing(request, tenant, MANAGE)
        return json_response(self.store.list_admin_tokens(tenant))

    async def revoke_token(self, request: web.Request) -> web.Response:
        token_id = request.match_info["token_id"]
        who = principal(request)
        token = self.scope.find(
            request, lambda: self.store.admin_token(token_id), f"admin token {token_id!r}"
        )
        if token.id != who.token_id:  # anyone may revoke the token they hold
            self.scope.require(request, token.tenant, OWN)
        return json_response(self.store.revoke_admin_token(token_id))
