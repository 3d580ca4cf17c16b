"""Make the store hold what the config declares: tenants, apps and their limits, and model group
limits. Where the config gives `limits:`, it wins at every start; where it does not, limits set
through the admin API stay. Keys always live in the store."""

from __future__ import annotations

from ..config.schema import PERIOD_SECONDS, Config, Limit
from .base import Store
from .records import LimitRule


def limit_rules(limits: list[Limit]) -> list[LimitRule]:
    return [
        LimitRule(
            kind="requests" if limit.requests is not None else "tokens",
            amount=limit.requests if limit.requests is not None else limit.tokens or 0,
            period_s=PERIOD_SECONDS[limit.per],
            burst=limit.burst,
        )
        for limit in limits
    ]


def seed(store: Store, cfg: Config) -> None:
    for tenant in cfg.tenants:
        store.ensure_tenant(tenant.name)
        if tenant.limits is not None:
            store.set_limits("tenant", tenant.name, limit_rules(tenant.limits))
        for app in tenant.apps:
            store.ensure_app(tenant.name, app.name, app.models)
            if app.limits is not None:
                store.set_limits("app", f"{tenant.name}/{app.name}", limit_rules(app.limits))
    for group in cfg.model_groups:
        if group.limits is not None:
            store.set_limits("model", group.name, limit_rules(group.limits))
