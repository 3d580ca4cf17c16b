"""Load a YAML config: environment expansion, schema check, cross-reference check, typed result."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import msgspec
import yaml

from .envsubst import expand
from .schema import Budget, Config
from .validate import schema_problems

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
    unset = {problem.partition(": ")[0] for problem in problems}  # reported once, as unset
    problems += [p for p in schema_problems(raw, Config) if p.partition(": ")[0] not in unset]
    if problems:
        raise ConfigError(source, problems)
    try:
        cfg = msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:  # a rule the walk missed: still no traceback
        message, _, where = str(exc).partition(" - at `$.")
        raise ConfigError(source, [f"{where.rstrip('`') or '(top level)'}: {message}"]) from None
    problems = cross_check(cfg)
    if problems:
        raise ConfigError(source, problems)
    return cfg


def cross_check(cfg: Config) -> list[str]:
    """Problems no single value shows: names that must be unique or must refer to something."""
    out: list[str] = []
    providers = {}
    for i, p in enumerate(cfg.providers):
        if p.name in providers:
            out.append(f"providers[{i}].name: duplicate provider name {p.name!r}")
        providers[p.name] = p
        seen: set[str] = set()
        for k, key in enumerate(p.keys):
            if key.id in seen:
                out.append(f"providers[{i}].keys[{k}].id: duplicate key id {key.id!r}")
            seen.add(key.id)
    groups: set[str] = set()
    names = [group.name for group in cfg.model_groups]
    for g, group in enumerate(cfg.model_groups):
        for a, alias in enumerate(group.aliases):
            if alias in names or sum(alias in other.aliases for other in cfg.model_groups) > 1:
                out.append(f"model_groups[{g}].aliases[{a}]: {alias!r} already names a model group")
        if group.name in groups:
            out.append(f"model_groups[{g}].name: duplicate model group {group.name!r}")
        groups.add(group.name)
        for d, dep in enumerate(group.deployments):
            if dep.provider not in providers:
                out.append(f"model_groups[{g}].deployments[{d}].provider: unknown provider {dep.provider!r}")
    for g, group in enumerate(cfg.model_groups):
        for f, fallback in enumerate(group.fallbacks):
            if fallback not in groups or fallback == group.name:
                out.append(f"model_groups[{g}].fallbacks[{f}]: not another model group: {fallback!r}")
    tenants: set[str] = set()
    for t, tenant in enumerate(cfg.tenants):
        if tenant.name in tenants:
            out.append(f"tenants[{t}].name: duplicate tenant {tenant.name!r}")
        tenants.add(tenant.name)
        out += _budget_problems(tenant.budgets, f"tenants[{t}].budgets")
        apps: set[str] = set()
        for a, app in enumerate(tenant.apps):
            if app.name in apps:
                out.append(f"tenants[{t}].apps[{a}].name: duplicate app {app.name!r}")
            apps.add(app.name)
            out += _budget_problems(app.budgets, f"tenants[{t}].apps[{a}].budgets")
            for m, model in enumerate(app.models):
                if model != "*" and model not in groups:
                    out.append(f"tenants[{t}].apps[{a}].models[{m}]: unknown model group {model!r}")
    s = cfg.server
    if s.port == s.admin_port and s.port != 0:  # 0: each picks a free port
        out.append("server.admin_port: must differ from server.port")
    return out


def _budget_problems(budgets: list[Budget] | None, path: str) -> list[str]:
    out = []
    listed = budgets or []
    for i, budget in enumerate(listed):
        if any(b.kind == budget.kind and b.per == budget.per for b in listed[:i]):
            out.append(f"{path}[{i}]: a second {budget.kind} budget per {budget.per}")
    return out
