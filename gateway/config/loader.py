"""Load a YAML config: environment expansion, schema check, cross-reference check, typed result."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import msgspec
import yaml

from ..admission.layout import BUDGET_MAX
from .envsubst import expand
from .schema import Budget, Config, Limit
from .validate import problems_for

QUICKSTART = "quickstart.yaml"


class ConfigError(Exception):
    """A config that cannot be served; `problems` lists each one with its path."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems))


def quickstart_text() -> str:
    return resources.files("gateway.config").joinpath(QUICKSTART).read_text()


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load `path`, or the bundled quickstart config when None."""
    if path is None:
        return parse_config(quickstart_text(), source=f"(bundled {QUICKSTART})")
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(str(p), [f"cannot read file: {exc.strerror}"]) from None
    return parse_config(text, source=str(p))


def parse_config(text: str, source: str = "(config)") -> Config:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [f"not valid YAML: {exc}"]) from None
    if raw is None:
        raw = {}
    problems: list[str] = []
    raw = expand(raw, "", problems)
    problems += problems_for(raw, Config)
    if problems:
        raise ConfigError(source, problems)
    try:
        cfg = msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:
        # Constraints (ranges) the per-field walk does not check: msgspec names the path.
        message, _, where = str(exc).partition(" - at `$.")
        raise ConfigError(source, [f"{where.rstrip('`') or '(top level)'}: {message}"]) from None
    problems = cross_check(cfg)
    if problems:
        raise ConfigError(source, problems)
    return cfg


def cross_check(cfg: Config) -> list[str]:
    """Problems a schema cannot see: names that must be unique or must refer to something."""
    out: list[str] = []
    providers = {}
    for i, p in enumerate(cfg.providers):
        if p.name in providers:
            out.append(f"providers[{i}].name: duplicate provider name {p.name!r}")
        providers[p.name] = p
        if p.type != "mock" and not p.base_url:
            out.append(f"providers[{i}].base_url: required for type {p.type}")
        for option in ("mock", "azure", "anthropic", "gemini"):
            if getattr(p, option) is not None and option != p.type:
                out.append(
                    f"providers[{i}].{option}: options for type {option}, but this provider is {p.type}"
                )
        if p.base_url and not p.base_url.startswith(("http://", "https://")):
            out.append(f"providers[{i}].base_url: must start with http:// or https://")
        if not p.keys:
            out.append(f"providers[{i}].keys: a provider needs at least one key")
        seen: set[str] = set()
        for k, key in enumerate(p.keys):
            if key.id in seen:
                out.append(f"providers[{i}].keys[{k}].id: duplicate key id {key.id!r}")
            seen.add(key.id)
            if not key.value:
                out.append(f"providers[{i}].keys[{k}].value: empty key")
            elif any(c in key.value for c in "\r\n"):
                out.append(f"providers[{i}].keys[{k}].value: contains a line break")
            out += _limit_problems(key.limits, f"providers[{i}].keys[{k}].limits")
        out += _limit_problems(p.key_limits, f"providers[{i}].key_limits")
        for name, value in p.headers.items():
            if not name or any(c in name for c in "\r\n: ") or any(c in value for c in "\r\n"):
                out.append(f"providers[{i}].headers.{name}: not a valid single-line HTTP header")
    groups: set[str] = set()
    names = [group.name for group in cfg.model_groups]
    for g, group in enumerate(cfg.model_groups):
        for a, alias in enumerate(group.aliases):
            if alias in names or sum(alias in other.aliases for other in cfg.model_groups) > 1:
                out.append(f"model_groups[{g}].aliases[{a}]: {alias!r} already names a model group")
        out += _limit_problems(group.limits, f"model_groups[{g}].limits")
        if group.name in groups:
            out.append(f"model_groups[{g}].name: duplicate model group {group.name!r}")
        groups.add(group.name)
        if group.max_attempts < 1:
            out.append(f"model_groups[{g}].max_attempts: must be at least 1")
        if not group.deployments:
            out.append(f"model_groups[{g}].deployments: a model group needs at least one deployment")
        for d, dep in enumerate(group.deployments):
            if dep.weight < 1:
                out.append(f"model_groups[{g}].deployments[{d}].weight: must be at least 1")
            if dep.provider not in providers:
                out.append(f"model_groups[{g}].deployments[{d}].provider: unknown provider {dep.provider!r}")
    for g, group in enumerate(cfg.model_groups):
        for f, fallback in enumerate(group.fallbacks):
            if fallback not in groups or fallback == group.name:
                out.append(f"model_groups[{g}].fallbacks[{f}]: not another model group: {fallback!r}")
        if group.max_wait_s < 0 or group.max_queue < 0:
            out.append(f"model_groups[{g}]: max_wait_s and max_queue cannot be negative")
    tenants: set[str] = set()
    for t, tenant in enumerate(cfg.tenants):
        if tenant.name in tenants:
            out.append(f"tenants[{t}].name: duplicate tenant {tenant.name!r}")
        tenants.add(tenant.name)
        out += _limit_problems(tenant.limits, f"tenants[{t}].limits")
        out += _budget_problems(tenant.budgets, f"tenants[{t}].budgets")
        for a, app in enumerate(tenant.apps):
            out += _limit_problems(app.limits, f"tenants[{t}].apps[{a}].limits")
            out += _budget_problems(app.budgets, f"tenants[{t}].apps[{a}].budgets")
            for m, model in enumerate(app.models):
                if model != "*" and model not in groups:
                    out.append(f"tenants[{t}].apps[{a}].models[{m}]: unknown model group {model!r}")
    s = cfg.server
    for name in ("port", "admin_port"):
        port = getattr(s, name)
        if not 0 <= port <= 65535:
            out.append(f"server.{name}: {port} is not a TCP port")
    if s.port == s.admin_port and s.port != 0:
        out.append("server.admin_port: must differ from server.port")
    if s.workers < 0:
        out.append("server.workers: must be 0 (one per core) or more")
    if s.max_body_bytes < 1024:
        out.append("server.max_body_bytes: must be at least 1024")
    for w, url in enumerate(cfg.events.webhooks):
        if not url.startswith(("http://", "https://")):
            out.append(f"events.webhooks[{w}]: must start with http:// or https://")
    if s.limit_buckets < 1024:
        out.append("server.limit_buckets: must be at least 1024")
    if not 0 <= cfg.events.pool_low_headroom <= 1:
        out.append("events.pool_low_headroom: must be between 0 and 1")
    return out


def _limit_problems(limits: list[Limit] | None, path: str) -> list[str]:
    out = []
    for i, limit in enumerate(limits or []):
        if (limit.requests is None) == (limit.tokens is None):
            out.append(f"{path}[{i}]: give exactly one of requests or tokens")
        elif (limit.requests or limit.tokens or 0) < 1:
            out.append(f"{path}[{i}]: the amount must be at least 1")
        if limit.burst is not None and limit.burst < 1:
            out.append(f"{path}[{i}].burst: must be at least 1")
    return out


def _budget_problems(budgets: list[Budget] | None, path: str) -> list[str]:
    out = []
    listed = budgets or []
    for i, budget in enumerate(listed):
        given = [v for v in (budget.requests, budget.tokens, budget.cost_usd) if v is not None]
        if len(given) != 1:
            out.append(f"{path}[{i}]: give exactly one of requests, tokens or cost_usd")
        elif not 0 < budget.amount <= BUDGET_MAX:
            most = f"{BUDGET_MAX:,}" if budget.cost_usd is None else f"{BUDGET_MAX / 1e6:,.0f}"
            out.append(f"{path}[{i}]: the amount must be above 0 and at most {most}")
        elif any(b.kind == budget.kind and b.per == budget.per for b in listed[:i]):
            out.append(f"{path}[{i}]: a second {budget.kind} budget per {budget.per}")
    return out
