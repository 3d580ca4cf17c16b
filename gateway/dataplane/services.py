"""Services in the admission tables: each served version is a gated group over its model group's
keys; apps reach it through an approved subscription (or by belonging to the service's tenant).

Group names: `<service>/v<n>` for a version, and `<service>` for the newest served version — the
model name callers use on /v1/chat/completions; prompt APIs are reached at /apis/<service>/v<n>.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import msgspec

from ..store.records import Snapshot
from ..store.tenancy_records import SERVED_STATES, PromptSpec, ServedVersion


@dataclass(frozen=True, slots=True)
class ServiceRoute:
    service: str
    version: int
    kind: str  # "model" or "prompt"
    model_group: str
    prompt: PromptSpec | None
    # A model route's default parameters (only those set), for requests that leave them out.
    defaults: dict[str, Any]
    # Sent with every answer: Deprecation and Sunset while the version is deprecated.
    headers: tuple[tuple[str, str], ...]


def group_name(service: str, version: int) -> str:
    return f"{service}/v{version}"


def lifecycle_headers(v: ServedVersion) -> tuple[tuple[str, str], ...]:
    if v.state != "deprecated":
        return ()
    # RFC 9745: Deprecation is "@" and the Unix time it took effect; RFC 8594: Sunset an HTTP-date.
    headers = [("deprecation", f"@{int(v.deprecated_at or 0)}")]
    if v.sunset_at:
        headers.append(("sunset", formatdate(v.sunset_at, usegmt=True)))
    return tuple(headers)


@dataclass
class ServiceTables:
    """What build_table needs to know about services, from one snapshot."""

    routes: dict[str, ServiceRoute]  # by group name (and the newest version's alias)
    aliases: dict[str, str]  # "<service>" -> the newest served version's group name
    retired: dict[str, str]  # group names and service names no longer served -> message
    # (tenant, app) -> group names it may call, and refusal messages by group name.
    allowed: dict[tuple[str, str], set[str]]
    refusals: dict[tuple[str, str], dict[str, str]]
    # tenant -> the group names of its own services, which its apps call without subscribing.
    own: dict[str, set[str]]

    @classmethod
    def build(cls, snapshot: Snapshot, known_groups: set[str]) -> ServiceTables:
        routes: dict[str, ServiceRoute] = {}
        aliases: dict[str, str] = {}
        retired: dict[str, str] = {}
        owners: dict[str, str] = {}
        groups_of: dict[str, list[str]] = defaultdict(list)
        for v in snapshot.services:
            name = group_name(v.service, v.version)
            owners[v.service] = v.tenant
            if v.state not in SERVED_STATES:
                retired[name] = f"Version {v.version} of service '{v.service}' was retired."
                continue
            if v.model_group not in known_groups:
                continue  # its model group left the config; nothing can serve it
            defaults = msgspec.to_builtins(v.spec.defaults) if v.spec.defaults is not None else {}
            routes[name] = ServiceRoute(
                v.service, v.version, v.kind, v.model_group, v.spec.prompt, defaults, lifecycle_headers(v)
            )
            aliases[v.service] = name  # versions come in order: the last one wins
            groups_of[v.service].append(name)
        for v in snapshot.services:
            if v.service not in aliases:
                retired[v.service] = f"Service '{v.service}' was retired."
        allowed: dict[tuple[str, str], set[str]] = defaultdict(set)
        refusals: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
        for g in snapshot.grants:
            who = (g.tenant, g.app)
            if g.state == "approved":
                allowed[who].update(groups_of[g.service])
                continue
            message = _refusal(g.service, owners.get(g.service, ""), g.tenant, g.app, g.state, g.reason)
            for name in groups_of[g.service]:
                refusals[who][name] = message
        own: dict[str, set[str]] = defaultdict(set)
        for service, tenant in owners.items():
            own[tenant].update(groups_of[service])
        return cls(routes, aliases, retired, allowed, refusals, own)


def _refusal(service: str, owner: str, tenant: str, app: str, state: str, reason: str) -> str:
    which = f"The subscription of app '{tenant}/{app}' to service '{service}'"
    if state == "pending":
        return f"{which} is pending approval by tenant '{owner}'."
    because = f": {reason}" if reason else "."
    return f"{which} was {state}{because}"
