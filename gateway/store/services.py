"""Services that tenants publish (model routes and prompt APIs, in versions with a lifecycle) and
the subscriptions through which other tenants' apps call them (docs/tenancy.md)."""

from __future__ import annotations

import time

import msgspec

from .base import Conflict, NotFound
from .database import Row
from .tenancy_records import (
    SERVED_STATES,
    Grant,
    NewService,
    NewVersion,
    ServedVersion,
    Service,
    ServiceVersion,
    Subscription,
    VersionSpec,
)
from .tenants import Tenants

# Lifecycle moves a version may make: draft -> published -> deprecated -> retired (a deprecated
# version may be published again; retired is final).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "publish": ("draft", "deprecated"),
    "deprecate": ("published",),
    "retire": ("published", "deprecated"),
}
NEW_STATE = {"publish": "published", "deprecate": "deprecated", "retire": "retired"}
# The moves a subscription's state may make, by the state it moves to.
DECISIONS: dict[str, tuple[str, ...]] = {
    "approved": ("pending", "rejected"),
    "rejected": ("pending",),
    "revoked": ("approved", "pending"),
}

_SERVICE_COLUMNS = (
    "SELECT s.id, t.name, s.name, s.description, s.approval, s.created_at FROM services s "
    "JOIN tenants t ON t.id = s.tenant_id"
)
_SUBSCRIPTION_COLUMNS = """
    SELECT s.id, v.name, vt.name, t.name, a.name, s.state, s.reason, s.decided_by, s.created_at,
           s.decided_at
    FROM subscriptions s
    JOIN services v ON v.id = s.service_id JOIN tenants vt ON vt.id = v.tenant_id
    JOIN apps a ON a.id = s.app_id JOIN tenants t ON t.id = a.tenant_id
"""
_spec = msgspec.json.Decoder(VersionSpec)


class Services(Tenants):
    # -- services and their versions ---------------------------------------------------------------
    def create_service(self, new: NewService) -> Service:
        tenant_id = self._tenant_id(new.tenant)
        if self._db.one("SELECT 1 FROM services WHERE name = ?", (new.name,)):
            raise Conflict(f"a service named {new.name!r} exists already")
        now = time.time()
        self._write(
            lambda: self._db.run(
                "INSERT INTO services (tenant_id, name, description, approval, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (tenant_id, new.name, new.description, int(new.approval), now),
            )
        )
        return self.service(new.name)

    def service(self, name: str) -> Service:
        row = self._db.one(_SERVICE_COLUMNS + " WHERE s.name = ?", (name,))
        if row is None:
            raise NotFound(f"no service {name!r}")
        return self._service(row)

    def list_services(self, tenant: str | None = None) -> list[Service]:
        rows = (
            self._db.all(_SERVICE_COLUMNS + " WHERE t.name = ? ORDER BY s.name", (tenant,))
            if tenant is not None
            else self._db.all(_SERVICE_COLUMNS + " ORDER BY s.name")
        )
        return [self._service(r) for r in rows]

    def _service(self, row: Row) -> Service:
        versions = self._db.all(
            "SELECT version, kind, state, model_group, spec, deprecated_at, sunset_at, created_at "
            "FROM service_versions WHERE service_id = ? ORDER BY version",
            (row[0],),
        )
        return Service(
            id=row[0],
            tenant=row[1],
            name=row[2],
            description=row[3],
            approval=bool(row[4]),
            created_at=row[5],
            versions=[
                ServiceVersion(
                    version=v[0],
                    kind=v[1],
                    state=v[2],
                    model_group=v[3],
                    prompt=_spec.decode(v[4]).prompt,
                    defaults=_spec.decode(v[4]).defaults,
                    deprecated_at=v[5],
                    sunset_at=v[6],
                    created_at=v[7],
                )
                for v in versions
            ],
        )

    def add_version(self, name: str, new: NewVersion) -> ServiceVersion:
        service = self.service(name)
        version = max((v.version for v in service.versions), default=0) + 1
        now = time.time()
        spec = msgspec.json.encode(VersionSpec(new.prompt, new.defaults)).decode()
        self._write(
            lambda: self._db.run(
                "INSERT INTO service_versions (service_id, version, kind, state, model_group, spec, "
                "created_at) VALUES (?, ?, ?, 'draft', ?, ?, ?)",
                (service.id, version, new.kind, new.model_group, spec, now),
            )
        )
        return self._version(name, version)

    def _version(self, name: str, version: int) -> ServiceVersion:
        for v in self.service(name).versions:
            if v.version == version:
                return v
        raise NotFound(f"service {name!r} has no version {version}")

    def transition(self, name: str, version: int, action: str, sunset_at: float | None) -> ServiceVersion:
        current = self._version(name, version)
        if current.state not in TRANSITIONS[action]:
            raise Conflict(f"cannot {action} version {version} of {name!r}: it is {current.state}")
        state = NEW_STATE[action]
        deprecated_at = time.time() if state == "deprecated" else None
        self._write(
            lambda: self._db.run(
                "UPDATE service_versions SET state = ?, deprecated_at = COALESCE(?, deprecated_at), "
                "sunset_at = COALESCE(?, sunset_at) "
                "WHERE version = ? AND service_id = (SELECT id FROM services WHERE name = ?)",
                (state, deprecated_at, sunset_at, version, name),
            )
        )
        return self._version(name, version)

    # -- subscriptions -----------------------------------------------------------------------------
    def subscribe(self, service: str, app: str, tenant: str | None) -> Subscription:
        target = self.service(service)
        if not any(v.state in SERVED_STATES for v in target.versions):
            raise Conflict(f"service {service!r} has no published version to subscribe to")
        app_id, app_tenant = self.resolve_app(app, tenant)
        # Approval is for other tenants' apps; a service's own tenant needs none.
        state = "pending" if target.approval and app_tenant != target.tenant else "approved"
        now = time.time()
        self._write(
            lambda: self._db.run(
                "INSERT INTO subscriptions (service_id, app_id, state, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (service_id, app_id) DO UPDATE SET state = excluded.state, reason = '', "
                "decided_by = '', decided_at = NULL, created_at = excluded.created_at "
                "WHERE subscriptions.state IN ('rejected', 'revoked')",
                (target.id, app_id, state, now),
            )
        )
        row = self._db.one(
            _SUBSCRIPTION_COLUMNS + " WHERE s.service_id = ? AND s.app_id = ?", (target.id, app_id)
        )
        assert row is not None
        return _subscription(row)

    def subscription(self, subscription_id: int) -> Subscription:
        row = self._db.one(_SUBSCRIPTION_COLUMNS + " WHERE s.id = ?", (subscription_id,))
        if row is None:
            raise NotFound(f"no subscription {subscription_id}")
        return _subscription(row)

    def list_subscriptions(self, tenant: str | None = None) -> list[Subscription]:
        """All, or those a tenant is party to: its apps' and those to its services."""
        if tenant is None:
            rows = self._db.all(_SUBSCRIPTION_COLUMNS + " ORDER BY s.id")
        else:
            rows = self._db.all(
                _SUBSCRIPTION_COLUMNS + " WHERE t.name = ? OR vt.name = ? ORDER BY s.id", (tenant, tenant)
            )
        return [_subscription(r) for r in rows]

    def decide(self, subscription_id: int, state: str, reason: str, by: str) -> Subscription:
        current = self.subscription(subscription_id)
        if current.state not in DECISIONS[state]:
            raise Conflict(f"subscription {subscription_id} is {current.state}; it cannot become {state}")
        self._write(
            lambda: self._db.run(
                "UPDATE subscriptions SET state = ?, reason = ?, decided_by = ?, decided_at = ? WHERE id = ?",
                (state, reason, by, time.time(), subscription_id),
            )
        )
        return self.subscription(subscription_id)

    # -- what workers load -------------------------------------------------------------------------
    def _served(self) -> tuple[list[ServedVersion], list[Grant]]:
        rows = self._db.all(
            "SELECT s.name, t.name, v.version, v.kind, v.state, v.model_group, v.spec, v.deprecated_at, "
            "v.sunset_at FROM service_versions v JOIN services s ON s.id = v.service_id "
            "JOIN tenants t ON t.id = s.tenant_id WHERE v.state != 'draft' ORDER BY s.name, v.version"
        )
        served = [
            ServedVersion(r[0], r[1], r[2], r[3], r[4], r[5], _spec.decode(r[6]), r[7], r[8]) for r in rows
        ]
        grants = [Grant(r[1], r[3], r[4], r[5], r[6]) for r in self._db.all(_SUBSCRIPTION_COLUMNS)]
        return served, grants


def _subscription(r: Row) -> Subscription:
    return Subscription(
        id=r[0],
        service=r[1],
        service_tenant=r[2],
        tenant=r[3],
        app=r[4],
        state=r[5],
        reason=r[6],
        decided_by=r[7],
        created_at=r[8],
        decided_at=r[9],
    )
