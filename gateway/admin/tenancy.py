"""The tenancy endpoints (docs/tenancy.md), one module per job, mounted by the admin listener."""

from __future__ import annotations

from collections.abc import Callable

from ..store import Store
from .admin_tokens import AdminTokensAPI
from .audit import AuditAPI
from .catalog import CatalogAPI
from .consumer_keys import ConsumerKeysAPI
from .routes import Endpoint
from .services import ServicesAPI
from .subscriptions import SubscriptionsAPI
from .tenant_scope import TenantScope
from .tenants import TenantsAPI


def tenancy_endpoints(
    store: Store, scope: TenantScope, model_groups: Callable[[], frozenset[str]]
) -> list[Endpoint]:
    return [
        *AdminTokensAPI(store, scope).endpoints(),
        *TenantsAPI(store, scope).endpoints(),
        *AuditAPI(store, scope).endpoints(),
        *ServicesAPI(store, scope, model_groups).endpoints(),
        *CatalogAPI(store).endpoints(),
        *SubscriptionsAPI(store, scope).endpoints(),
        *ConsumerKeysAPI(store, scope).endpoints(),
    ]
