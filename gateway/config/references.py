"""The config rules no single value can check: names that must be unique, names that must refer
to something declared elsewhere, and two ports that must differ.

They read the raw data, not the decoded Config, so they run beside the schema check and one
`aigw config check` reports both kinds of problem. A value of the wrong type is the schema's to
report; these rules skip it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import msgspec

from .schema import ServerConfig

_BUDGET_KINDS = {"requests": "requests", "tokens": "tokens", "cost_usd": "cost"}


def reference_problems(raw: Any) -> list[str]:
    out: list[str] = []
    _distinct_ports(raw.get("server") if isinstance(raw, dict) else None, out)
    _cluster_shares_the_store(raw, out)
    providers = _unique(_items(raw, "providers"), "providers", "provider name", out)
    for p, provider in _items(raw, "providers"):
        _unique(_items(provider, "keys"), f"providers[{p}].keys", "key id", out, key="id")
    groups = _items(raw, "model_groups")
    names = _unique(groups, "model_groups", "model group", out)
    aliases = Counter(alias for _, group in groups for _, alias in _texts(group, "aliases"))
    for g, group in groups:
        where = f"model_groups[{g}]"
        for a, alias in _texts(group, "aliases"):
            if alias in names or aliases[alias] > 1:
                out.append(f"{where}.aliases[{a}]: {alias!r} already names a model group")
        for d, deployment in _items(group, "deployments"):
            name = _text(deployment, "provider")
            if name is not None and name not in providers:
                out.append(f"{where}.deployments[{d}].provider: unknown provider {name!r}")
        for f, fallback in _texts(group, "fallbacks"):
            if fallback not in names or fallback == group.get("name"):
                out.append(f"{where}.fallbacks[{f}]: not another model group: {fallback!r}")
    tenants = _items(raw, "tenants")
    _unique(tenants, "tenants", "tenant", out)
    for t, tenant in tenants:
        _one_budget_per_kind(tenant, f"tenants[{t}].budgets", out)
        apps = _items(tenant, "apps")
        _unique(apps, f"tenants[{t}].apps", "app", out)
        for a, app in apps:
            _one_budget_per_kind(app, f"tenants[{t}].apps[{a}].budgets", out)
            for m, model in _texts(app, "models"):
                if model != "*" and model not in names:
                    out.append(f"tenants[{t}].apps[{a}].models[{m}]: unknown model group {model!r}")
    return out


def _cluster_shares_the_store(raw: Any, out: list[str]) -> None:
    # Limits and budgets are named in Redis by their ids in the store: every node must share it.
    cluster, store = (raw.get(name) if isinstance(raw, dict) else None for name in ("cluster", "store"))
    shared_store = isinstance(store, dict) and store.get("url")
    if isinstance(cluster, dict) and cluster.get("redis_url") and not shared_store:
        out.append("cluster.redis_url: a cluster shares the PostgreSQL store; set store.url too")


def _distinct_ports(server: Any, out: list[str]) -> None:
    given = server if isinstance(server, dict) else {}
    defaults = {f.encode_name: f.default for f in msgspec.structs.fields(ServerConfig)}
    port, admin_port = (given.get(name, defaults[name]) for name in ("port", "admin_port"))
    if isinstance(port, int) and port == admin_port and port != 0:  # 0: each picks a free port
        out.append("server.admin_port: must differ from server.port")


def _one_budget_per_kind(holder: dict[str, Any], path: str, out: list[str]) -> None:
    seen: set[tuple[str, Any]] = set()
    for b, budget in _items(holder, "budgets"):
        kinds = [kind for field, kind in _BUDGET_KINDS.items() if budget.get(field) is not None]
        if len(kinds) != 1:
            continue  # the schema reports it
        period = budget.get("per", "day")
        if (kinds[0], period) in seen:
            out.append(f"{path}[{b}]: a second {kinds[0]} budget per {period}")
        seen.add((kinds[0], period))


def _unique(
    items: list[tuple[int, dict[str, Any]]], path: str, what: str, out: list[str], key: str = "name"
) -> set[str]:
    """The names the items give under `key`; a repeated one is a problem."""
    seen: set[str] = set()
    for i, item in items:
        name = _text(item, key)
        if name is None:
            continue
        if name in seen:
            out.append(f"{path}[{i}].{key}: duplicate {what} {name!r}")
        seen.add(name)
    return seen


def _items(parent: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    """The mappings listed under `key`, with their indexes (anything else is skipped)."""
    listed = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(listed, list):
        return []
    return [(i, item) for i, item in enumerate(listed) if isinstance(item, dict)]


def _texts(parent: dict[str, Any], key: str) -> list[tuple[int, str]]:
    listed = parent.get(key)
    if not isinstance(listed, list):
        return []
    return [(i, item) for i, item in enumerate(listed) if isinstance(item, str)]


def _text(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) else None
