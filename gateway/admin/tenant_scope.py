"""Which tenant an admin request acts on, and whether its caller may: every handler names the
tenant before acting, which both authorizes the caller and files the request under that tenant in
the audit log. A tenant token asking about another tenant's objects learns nothing of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from aiohttp import web

from ..store import NotFound, Store
from ..store.records import ConsumerKey
from ..store.tenancy_records import Service
from .access import OWN, Forbidden, Principal
from .responses import AUDIT_TENANT, principal

T = TypeVar("T")


class TenantScope:
    def __init__(self, store: Store):
        self.store = store

    def require(self, request: web.Request, tenant: str | None, least: str) -> Principal:
        who = principal(request)
        who.require(tenant, least)
        # Filed under the tenant acted on once allowed; a refusal stays with the caller's tenant.
        request[AUDIT_TENANT] = tenant or ""
        return who

    def require_listing(self, request: web.Request, tenant: str | None, least: str) -> None:
        """A listing: of one tenant (a tenant token's is always its own), or of all (operator)."""
        self.require(request, tenant, least if tenant else OWN)

    def require_app(self, request: web.Request, app: str, tenant: str | None, least: str) -> str:
        """Authorize an action on an app; returns the app's tenant. A tenant token may name its
        own app without the tenant (its tenant is implied)."""
        who = principal(request)
        _, owner = self.store.resolve_app(
            app, tenant if tenant is not None or who.is_operator else who.tenant
        )
        self.require(request, owner, least)
        return owner

    def find(self, request: web.Request, lookup: Callable[[], T], what: str) -> T:
        """`lookup()`'s object. Not found, a tenant token is refused as for another tenant's
        object: it learns nothing about other tenants' ids and names (an operator gets a 404)."""
        try:
            return lookup()
        except NotFound:
            who = principal(request)
            if not who.is_operator:
                raise Forbidden(f"no {what} in tenant {who.tenant!r}") from None
            raise

    def require_key(self, request: web.Request, key_id: str, least: str) -> ConsumerKey:
        key = self.find(request, lambda: self.store.get_key(key_id), f"consumer key {key_id!r}")
        self.require(request, key.tenant, least)
        return key

    def require_service(self, request: web.Request, name: str, least: str) -> Service:
        service = self.find(request, lambda: self.store.service(name), f"service {name!r}")
        self.require(request, service.tenant, least)
        return service

    def subject_tenant(self, scope: str, subject: str) -> str | None:
        """The tenant a limit's or budget's subject belongs to (None: node-wide, a model group)."""
        if scope == "tenant":
            return subject
        if scope == "app":
            return subject.partition("/")[0]
        if scope == "key":
            return self.store.get_key(subject).tenant
        if scope == "service":
            return self.store.service(subject).tenant
        return None


class ScopedAPI:
    """A group of admin endpoints that act within tenants: the store, and the scope that
    authorizes each request and files it under its tenant."""

    def __init__(self, store: Store, scope: TenantScope):
        self.store = store
        self.scope = scope
