"""A small pure-Python implementation of the native admission core, with the same interface.

It is the executable specification: the native tests run against both, and where they disagree
one of them has a bug.
"""

from __future__ import annotations

import hashlib
from typing import Any

from . import rejections as rej
from .spec import AdmissionSpec


class Decision:
    __slots__ = ("app", "group", "key_id", "models", "route", "target", "tenant")

    def __init__(self, route: int, key_id: str, tenant: str, app: str, models: frozenset[str] | None):
        self.route = route
        self.key_id = key_id
        self.tenant = tenant
        self.app = app
        self.models = models
        self.group: str | None = None
        self.target: Any = None


class AdmissionTable:
    def __init__(self, spec: AdmissionSpec):
        self._routes = dict(spec.routes)
        self._paths = {path for (_, path) in spec.routes}
        self._consumers = {c.digest: c for c in spec.consumers}
        self._groups = {g.name: g for g in spec.groups}
        self._next = dict.fromkeys(self._groups, 0)

    @property
    def consumer_count(self) -> int:
        return len(self._consumers)

    def group_names(self) -> list[str]:
        return sorted(self._groups)

    def admit(
        self, method: str, path: str, credential: str | None, model: str | None
    ) -> Decision | rej.Rejection:
        route = self._routes.get((method, path))
        if route is None:
            return rej.wrong_method(method, path) if path in self._paths else rej.unknown_route(method, path)
        if not credential:
            return rej.missing_key()
        consumer = self._consumers.get(hashlib.sha256(credential.encode()).digest())
        if consumer is None:
            return rej.invalid_key()
        decision = Decision(route, consumer.key_id, consumer.tenant, consumer.app, consumer.models)
        if model is None:
            return decision
        group = self._groups.get(model)
        if group is None or (consumer.models is not None and model not in consumer.models):
            return rej.unknown_model(model)
        i = self._next[model]
        self._next[model] = (i + 1) % len(group.targets)
        decision.group = group.name
        decision.target = group.targets[i]
        return decision
