"""Make the store hold what the config declares: tenants, apps and their limits and budgets, and
model group limits. Where the config gives `limits:` (or `budgets:`), it wins at every start; where
it does not, those set through the admin API stay. Keys always live in the store."""

from __future__ import annotations

from ..store.base import Store
from ..store.records import BudgetRule, LimitRule
from .schema import PERIOD_SECONDS, Budget, Config, Limit


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


def budget_rules(budgets: list[Budget]) -> list[BudgetRule]:
    return [BudgetRule(kind=b.kind, amount=b.amount, period=b.per) for b in budgets]  # type: ignore[arg-type]


def seed(store: Store, cfg: Config) -> None:
    for tenant in cfg.tenants:
        store.ensure_tenant(tenant.name)
        if tenant.limits is not None:
            store.set_limits("tenant", tenant.name, limit_rules(tenant.limits))
        if tenant.budgets is not None:
            store.set_budgets("tenant", tenant.name, budget_rules(tenant.budgets))
        for app in tenant.apps:
            store.ensure_app(tenant.name, app.name, app.models)
            if app.limits is not None:
                store.set_limits("app", f"{tenant.name}/{app.name}", limit_rules(app.limits))
            if app.budgets is not None:
                store.set_budgets("app", f"{tenant.name}/{app.name}", budget_rules(app.budgets))
    for group in cfg.model_groups:
        if group.limits is not None:
            store.set_limits("model", group.name, limit_rules(group.limits))
