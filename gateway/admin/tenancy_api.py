"""Admin endpoints for tenancy: tenants and members, admin tokens, the audit log, apps, services
and their lifecycle, the catalog, subscriptions, key rotation and temporary keys.

Every handler names the tenant it acts on before acting (`_require`), which both authorizes the
caller and files the request under that tenant in the audit log.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Annotated

import msgspec
from aiohttp import web

from ..store import Conflict, NotFound, Store
from ..store.records import App, ConsumerKey, LimitRecord, Tenant
from ..store.tenancy_records import (
    SERVED_STATES,
    AdminToken,
    AuditEntry,
    Decision,
    Member,
    Name,
    NewService,
    NewSubscription,
    NewVersion,
    Role,
    Service,
    ServiceVersion,
    Subscription,
    Transition,
)
from .access import DEVELOP, MANAGE, OWN, READ, Forbidden, Principal
from .responses import AUDIT_TENANT, decode, json_response, principal
from .routes import CreatedKey, CreateTemporaryKey, Endpoint, Param, RotateKey

VERSION_ACTIONS = ("publish", "deprecate", "retire")
SUBSCRIPTION_ACTIONS = {"approve": "approved", "reject": "rejected", "revoke": "revoked"}


class NewTenant(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name


class NewApp(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    tenant: str
    name: Name
    # Model groups this app may call without a subscription; "*" means all.
    models: list[str] = msgspec.field(default_factory=lambda: ["*"])


class MemberRole(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    role: Role


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


class CatalogVersion(msgspec.Struct, kw_only=True):
    version: int
    kind: str
    state: str
    model_group: str
    sunset_at: float | None = None


class CatalogEntry(msgspec.Struct, kw_only=True):
    """A service any tenant may find and subscribe to."""

    name: str
    tenant: str
    description: str
    approval: bool
    models: list[str]
    limits: list[LimitRecord]
    versions: list[CatalogVersion]


_TENANT = Param("tenant", "path", "The tenant's name")
_SERVICE = Param("service", "path", "The service's name")


class TenancyAPI:
    def __init__(self, store: Store, model_groups: frozenset[str]):
        self.store = store
        self.model_groups = model_groups

    # -- authorization helpers, also used by the core endpoints ------------------------------------
    def _require(self, request: web.Request, tenant: str | None, least: str) -> Principal:
        who = principal(request)
        who.require(tenant, least)
        # Filed under the tenant acted on once allowed; a refusal stays with the caller's tenant.
        request[AUDIT_TENANT] = tenant or ""
        return who

    def _require_scope(self, request: web.Request, tenant: str | None, least: str) -> None:
        """A listing: of one tenant (a tenant token's is always its own), or of all (operator)."""
        self._require(request, tenant, least if tenant else OWN)

    def require_app(self, request: web.Request, app: str, tenant: str | None, least: str) -> str:
        """Authorize an action on an app; returns the app's tenant. A tenant token may name its
        own app without the tenant (its tenant is implied)."""
        who = principal(request)
        _, owner = self.store.resolve_app(
            app, tenant if tenant is not None or who.is_operator else who.tenant
        )
        self._require(request, owner, least)
        return owner

    def require_key(self, request: web.Request, key_id: str, least: str) -> ConsumerKey:
        try:
            key = self.store.get_key(key_id)
        except NotFound:
            # A tenant token learns nothing about other tenants' key ids.
            if not principal(request).is_operator:
                raise Forbidden(
                    f"no consumer key {key_id!r} in tenant {principal(request).tenant!r}"
                ) from None
            raise
        self._require(request, key.tenant, least)
        return key

    def _require_service(self, request: web.Request, name: str, least: str) -> Service:
        try:
            service = self.store.service(name)
        except NotFound:
            if not principal(request).is_operator:
                raise Forbidden(f"no service {name!r} in tenant {principal(request).tenant!r}") from None
            raise
        self._require(request, service.tenant, least)
        return service

    def subject_tenant(self, scope: str, subject: str) -> str | None:
        """The tenant a limit's subject belongs to (None: node-wide, a model group)."""
        if scope == "tenant":
            return subject
        if scope == "app":
            return subject.partition("/")[0]
        if scope == "key":
            return self.store.get_key(subject).tenant
        if scope == "service":
            return self.store.service(subject).tenant
        return None

    # -- the endpoint table ----------------------------------------------------------------------
    def endpoints(self) -> list[Endpoint]:
        member_params = (_TENANT, Param("user", "path", "The member's user name"))
        return [
            Endpoint("GET", "/admin/whoami", "The caller's identity, tenant and role", WhoAmI, self.whoami),
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
            Endpoint(
                "GET",
                "/admin/audit",
                "The audit log, newest first: who did what, when, from where",
                list[AuditEntry],
                self.list_audit,
                params=(
                    Param("tenant", "query", "Only this tenant's entries"),
                    Param("before", "query", "Entries with a smaller id (the next page)"),
                    Param("limit", "query", "At most this many (default 100, at most 1000)"),
                ),
                tenant_query=True,
            ),
            Endpoint(
                "POST",
                "/admin/apps",
                "Create an app (or change the model groups it may call)",
                App,
                self.create_app,
                request=NewApp,
                status=201,
            ),
            Endpoint(
                "POST",
                "/admin/services",
                "Create a service (versions are added as drafts)",
                Service,
                self.create_service,
                request=NewService,
                status=201,
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
            ),
            Endpoint(
                "POST",
                "/admin/services/{service}/versions/{version}/{action}",
                "publish, deprecate or retire a version (admin); callers see it within 1 s",
                ServiceVersion,
                self.transition,
                request=Transition,
                params=(
                    _SERVICE,
                    Param("version", "path", "The version number"),
                    Param("action", "path", "publish, deprecate or retire"),
                ),
            ),
            Endpoint(
                "GET",
                "/admin/catalog",
                "Published services of every tenant",
                list[CatalogEntry],
                self.catalog,
            ),
            Endpoint(
                "POST",
                "/admin/subscriptions",
                "Subscribe an app to a service (pending if it needs approval)",
                Subscription,
                self.subscribe,
                request=NewSubscription,
                status=201,
            ),
            Endpoint(
                "GET",
                "/admin/subscriptions",
                "Subscriptions a tenant is party to: its apps' and those to its services",
                list[Subscription],
                self.list_subscriptions,
                params=(Param("tenant", "query", "Only this tenant's"),),
                tenant_query=True,
            ),
            Endpoint(
                "POST",
                "/admin/subscriptions/{subscription_id}/{action}",
                "approve or reject (the service's owner or admin), or revoke; every worker within 1 s",
                Subscription,
                self.decide,
                request=Decision,
                params=(
                    Param("subscription_id", "path", "The subscription's id"),
                    Param("action", "path", "approve, reject or revoke"),
                ),
            ),
            Endpoint(
                "POST",
                "/admin/keys/{key_id}/rotate",
                "A new key for the same app; the old one works for overlap_s more; shown once",
                CreatedKey,
                self.rotate_key,
                request=RotateKey,
                params=(Param("key_id", "path", "The key's id"),),
                status=201,
            ),
            Endpoint(
                "POST",
                "/admin/temporary-keys",
                "A key with a TTL and optional request/token caps and allowances; shown once",
                CreatedKey,
                self.create_temporary_key,
                request=CreateTemporaryKey,
                status=201,
            ),
        ]

    # -- handlers --------------------------------------------------------------------------------
    async def whoami(self, request: web.Request) -> web.Response:
        who = principal(request)
        return json_response(WhoAmI(user=who.user, token_id=who.token_id, tenant=who.tenant, role=who.role))

    async def create_tenant(self, request: web.Request) -> web.Response:
        body: NewTenant = await decode(request, NewTenant)
        self._require(request, None, OWN)
        return json_response(self.store.ensure_tenant(body.name), 201)

    async def list_members(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        self._require(request, tenant, READ)
        return json_response(self.store.list_members(tenant))

    async def set_member(self, request: web.Request) -> web.Response:
        tenant, user = request.match_info["tenant"], request.match_info["user"]
        self._require(request, tenant, OWN)
        body: MemberRole = await decode(request, MemberRole)
        return json_response(self.store.set_member(tenant, user, body.role))

    async def remove_member(self, request: web.Request) -> web.Response:
        tenant, user = request.match_info["tenant"], request.match_info["user"]
        self._require(request, tenant, OWN)
        member = self.store.member(tenant, user)
        if member is None:
            raise NotFound(f"{user!r} is not a member of tenant {tenant!r}")
        self.store.remove_member(tenant, user)
        return json_response(member)

    async def create_token(self, request: web.Request) -> web.Response:
        body: NewAdminToken = await decode(request, NewAdminToken)
        self._require(request, body.tenant, OWN)
        if body.tenant is not None and self.store.member(body.tenant, body.user) is None:
            raise NotFound(f"{body.user!r} is not a member of tenant {body.tenant!r}; add them first")
        expires = time.time() + body.ttl_s if body.ttl_s else None
        record, secret = self.store.create_admin_token(body.user, body.tenant, expires)
        return json_response(CreatedAdminToken(record=record, token=secret), 201)

    async def list_tokens(self, request: web.Request) -> web.Response:
        tenant = request.query.get("tenant")
        self._require_scope(request, tenant, MANAGE)
        return json_response(self.store.list_admin_tokens(tenant))

    async def revoke_token(self, request: web.Request) -> web.Response:
        token_id = request.match_info["token_id"]
        who = principal(request)
        try:
            token = self.store.admin_token(token_id)
        except NotFound:
            if not who.is_operator:
                raise Forbidden(f"no admin token {token_id!r} in tenant {who.tenant!r}") from None
            raise
        if token.id != who.token_id:  # anyone may revoke the token they hold
            self._require(request, token.tenant, OWN)
        return json_response(self.store.revoke_admin_token(token_id))

    async def list_audit(self, request: web.Request) -> web.Response:
        q = request.query
        tenant = q.get("tenant")
        self._require_scope(request, tenant, MANAGE)
        before = _int(q.get("before"), "before")
        limit = min(_int(q.get("limit"), "limit") or 100, 1000)
        return json_response(self.store.list_audit(tenant, before, limit))

    async def create_app(self, request: web.Request) -> web.Response:
        body: NewApp = await decode(request, NewApp)
        self._require(request, body.tenant, DEVELOP)
        self.store.list_members(body.tenant)  # the tenant must exist: apps never create tenants here
        return json_response(self.store.ensure_app(body.tenant, body.name, body.models), 201)

    async def create_service(self, request: web.Request) -> web.Response:
        body: NewService = await decode(request, NewService)
        self._require(request, body.tenant, DEVELOP)
        if body.name in self.model_groups:
            raise Conflict(f"{body.name!r} is a model group's name; callers could not tell them apart")
        return json_response(self.store.create_service(body), 201)

    async def list_services(self, request: web.Request) -> web.Response:
        tenant = request.query.get("tenant")
        self._require_scope(request, tenant, READ)
        return json_response(self.store.list_services(tenant))

    async def get_service(self, request: web.Request) -> web.Response:
        return json_response(self._require_service(request, request.match_info["service"], READ))

    async def add_version(self, request: web.Request) -> web.Response:
        service = self._require_service(request, request.match_info["service"], DEVELOP)
        body: NewVersion = await decode(request, NewVersion)
        if body.model_group not in self.model_groups:
            raise msgspec.ValidationError(f"no model group {body.model_group!r} - at `$.model_group`")
        if (body.kind == "prompt") != (body.prompt is not None):
            raise msgspec.ValidationError(
                "a prompt version needs `prompt`, a model version must not have one"
            )
        if body.kind == "prompt" and body.defaults is not None:
            raise msgspec.ValidationError("`defaults` are for model routes; a prompt sets its own")
        return json_response(self.store.add_version(service.name, body), 201)

    async def transition(self, request: web.Request) -> web.Response:
        service = self._require_service(request, request.match_info["service"], MANAGE)
        action = request.match_info["action"]
        if action not in VERSION_ACTIONS:
            raise msgspec.ValidationError(f"action must be one of {', '.join(VERSION_ACTIONS)}")
        version = _int(request.match_info["version"], "version")
        body: Transition = await decode(request, Transition) if await request.read() else Transition()
        return json_response(self.store.transition(service.name, version or 0, action, body.sunset_at))

    async def catalog(self, request: web.Request) -> web.Response:
        limits = self.store.list_limits("service")
        entries = []
        for service in self.store.list_services():
            served = [v for v in service.versions if v.state in SERVED_STATES]
            if not served:
                continue
            entries.append(
                CatalogEntry(
                    name=service.name,
                    tenant=service.tenant,
                    description=service.description,
                    approval=service.approval,
                    models=sorted({v.model_group for v in served}),
                    limits=[r for r in limits if r.subject == service.name],
                    versions=[
                        CatalogVersion(
                            version=v.version,
                            kind=v.kind,
                            state=v.state,
                            model_group=v.model_group,
                            sunset_at=v.sunset_at,
                        )
                        for v in served
                    ],
                )
            )
        return json_response(entries)

    async def subscribe(self, request: web.Request) -> web.Response:
        body: NewSubscription = await decode(request, NewSubscription)
        tenant = self.require_app(request, body.app, body.tenant, DEVELOP)
        return json_response(self.store.subscribe(body.service, body.app, tenant), 201)

    async def list_subscriptions(self, request: web.Request) -> web.Response:
        tenant = request.query.get("tenant")
        self._require_scope(request, tenant, READ)
        return json_response(self.store.list_subscriptions(tenant))

    async def decide(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in SUBSCRIPTION_ACTIONS:
            raise msgspec.ValidationError(f"action must be one of {', '.join(SUBSCRIPTION_ACTIONS)}")
        who = principal(request)
        subscription_id = _int(request.match_info["subscription_id"], "subscription_id") or 0
        try:
            current = self.store.subscription(subscription_id)
        except NotFound:
            if not who.is_operator:
                raise Forbidden(f"no subscription {subscription_id} in tenant {who.tenant!r}") from None
            raise
        body: Decision = await decode(request, Decision) if await request.read() else Decision()
        if action == "revoke" and who.tenant == current.tenant and who.tenant != current.service_tenant:
            self._require(request, current.tenant, DEVELOP)  # a subscriber may cancel its own
        else:
            self._require(request, current.service_tenant, MANAGE)
        state = SUBSCRIPTION_ACTIONS[action]
        return json_response(self.store.decide(subscription_id, state, body.reason, who.user))

    async def rotate_key(self, request: web.Request) -> web.Response:
        key = self.require_key(request, request.match_info["key_id"], DEVELOP)
        body: RotateKey = await decode(request, RotateKey) if await request.read() else RotateKey()
        record, secret = self.store.rotate_key(key.id, body.overlap_s)
        return json_response(CreatedKey(record=record, key=secret), 201)

    async def create_temporary_key(self, request: web.Request) -> web.Response:
        body: CreateTemporaryKey = await decode(request, CreateTemporaryKey)
        tenant = self.require_app(request, body.app, body.tenant, DEVELOP)
        if body.allowed is not None and body.allowed.networks:
            _check_networks(body.allowed.networks)
        record, secret = self.store.create_key(
            body.app,
            tenant,
            body.name,
            expires_at=time.time() + body.ttl_s,
            temporary=True,
            max_requests=body.max_requests,
            max_tokens=body.max_tokens,
            allowed=body.allowed,
        )
        return json_response(CreatedKey(record=record, key=secret), 201)


def _int(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise msgspec.ValidationError(f"{name} must be an integer") from None
    if value < 0:
        raise msgspec.ValidationError(f"{name} must not be negative")
    return value


def _check_networks(networks: list[str]) -> None:
    for i, network in enumerate(networks):
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise msgspec.ValidationError(
                f"not a network: {network!r} - at `$.allowed.networks[{i}]`"
            ) from None
