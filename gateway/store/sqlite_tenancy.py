"""Tenancy in the SQLite store: members, admin tokens, the audit log, services, subscriptions.

A mixin of SQLiteStore: it shares the store's connection, its write transaction (which bumps the
generation, so workers reload) and its app lookup.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from .. import credentials
from .base import Conflict, NotFound
from .tenancy_records import (
    SERVED_STATES,
    AdminToken,
    AuditEntry,
    Grant,
    Member,
    NewService,
    NewVersion,
    ServedVersion,
    Service,
    ServiceVersion,
    Subscription,
    VersionSpec,
)

T = TypeVar("T")

ADMIN_TOKEN_PREFIX = "aigw-admin-"

# Lifecycle moves a version may make: draft -> published -> deprecated -> retired (a deprecated
# version may be published again; retired is final).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "publish": ("draft", "deprecated"),
    "deprecate": ("published",),
    "retire": ("published", "deprecated"),
}
NEW_STATE = {"publish": "published", "deprecate": "deprecated", "retire": "retired"}

_SUBSCRIPTION_COLUMNS = """
    SELECT s.id, v.name, vt.name, t.name, a.name, s.state, s.reason, s.decided_by, s.created_at,
           s.decided_at
    FROM subscriptions s
    JOIN services v ON v.id = s.service_id JOIN tenants vt ON vt.id = v.tenant_id
    JOIN apps a ON a.id = s.app_id JOIN tenants t ON t.id = a.tenant_id
"""
_TOKEN_COLUMNS = """
    SELECT k.id, k.prefix, k.user, t.name, k.created_at, k.expires_at, k.revoked_at
    FROM admin_tokens k LEFT JOIN tenants t ON t.id = k.tenant_id
"""
_spec = msgspec.json.Decoder(VersionSpec)


class TenancyMixin:
    _db: sqlite3.Connection
    _write: Callable[[Callable[[], Any]], Any]
    resolve_app: Callable[[str, str | None], tuple[int, str]]

    # -- tenants and members ---------------------------------------------------------------------
    def _tenant_id(self, name: str) -> int:
        row = self._db.execute("SELECT id FROM tenants WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no tenant {name!r}")
        return int(row[0])

    def set_member(self, tenant: str, user: str, role: str) -> Member:
        tenant_id = self._tenant_id(tenant)
        now = time.time()
        self._write(
            lambda: self._db.execute(
                "INSERT INTO members (tenant_id, user, role, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, user) DO UPDATE SET role = excluded.role",
                (tenant_id, user, role, now),
            )
        )
        member = self.member(tenant, user)
        assert member is not None
        return member

    def remove_member(self, tenant: str, user: str) -> None:
        tenant_id = self._tenant_id(tenant)

        def delete() -> None:
            cur = self._db.execute("DELETE FROM members WHERE tenant_id = ? AND user = ?", (tenant_id, user))
            if cur.rowcount == 0:
                raise NotFound(f"{user!r} is not a member of tenant {tenant!r}")

        self._write(delete)

    def member(self, tenant: str, user: str) -> Member | None:
        row = self._db.execute(
            "SELECT t.name, m.user, m.role, m.created_at FROM members m JOIN tenants t ON t.id = m.tenant_id "
            "WHERE t.name = ? AND m.user = ?",
            (tenant, user),
        ).fetchone()
        return Member(tenant=row[0], user=row[1], role=row[2], created_at=row[3]) if row else None

    def list_members(self, tenant: str) -> list[Member]:
        self._tenant_id(tenant)
        rows = self._db.execute(
            "SELECT t.name, m.user, m.role, m.created_at FROM members m JOIN tenants t ON t.id = m.tenant_id "
            "WHERE t.name = ? ORDER BY m.user",
            (tenant,),
        ).fetchall()
        return [Member(tenant=r[0], user=r[1], role=r[2], created_at=r[3]) for r in rows]

    # -- admin tokens ----------------------------------------------------------------------------
    def create_admin_token(
        self, user: str, tenant: str | None, expires_at: float | None = None
    ) -> tuple[AdminToken, str]:
        tenant_id = self._tenant_id(tenant) if tenant is not None else None
        secret = ADMIN_TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = "tok_" + secrets.token_hex(8)
        prefix = secret[: len(ADMIN_TOKEN_PREFIX) + 6]
        now = time.time()
        self._write(
            lambda: self._db.execute(
                "INSERT INTO admin_tokens (id, digest, prefix, user, tenant_id, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (token_id, credentials.digest(secret), prefix, user, tenant_id, now, expires_at),
            )
        )
        return self.admin_token(token_id), secret

    def admin_token(self, token_id: str) -> AdminToken:
        row = self._db.execute(_TOKEN_COLUMNS + " WHERE k.id = ?", (token_id,)).fetchone()
        if row is None:
            raise NotFound(f"no admin token {token_id!r}")
        return _token(row)

    def admin_token_by_secret(self, secret: str) -> AdminToken | None:
        """The live token this secret is, or None (unknown, revoked or expired)."""
        row = self._db.execute(
            _TOKEN_COLUMNS + " WHERE k.digest = ? AND k.revoked_at IS NULL", (credentials.digest(secret),)
        ).fetchone()
        if row is None or (row[5] is not None and row[5] <= time.time()):
            return None
        return _token(row)

    def list_admin_tokens(self, tenant: str | None = None) -> list[AdminToken]:
        if tenant is None:
            rows = self._db.execute(_TOKEN_COLUMNS + " ORDER BY k.created_at").fetchall()
        else:
            rows = self._db.execute(
                _TOKEN_COLUMNS + " WHERE t.name = ? ORDER BY k.created_at", (tenant,)
            ).fetchall()
        return [_token(r) for r in rows]

    def revoke_admin_token(self, token_id: str) -> AdminToken:
        self.admin_token(token_id)
        self._write(
            lambda: self._db.execute(
                "UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (time.time(), token_id),
            )
        )
        return self.admin_token(token_id)

    # -- audit log: appended without a generation bump (workers never read it) -------------------
    def audit(
        self, actor: str, token_id: str, tenant: str, method: str, path: str, status: int, client: str
    ) -> None:
        self._db.execute(
            "INSERT INTO audit_log (ts, actor, token_id, tenant, method, path, status, client) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (time.time(), actor, token_id, tenant, method, path, status, client),
        )

    def list_audit(self, tenant: str | None, before: int | None = None, limit: int = 100) -> list[AuditEntry]:
        sql = "SELECT id, ts, actor, token_id, tenant, method, path, status, client FROM audit_log WHERE 1=1"
        args: list[Any] = []
        if tenant is not None:
            sql += " AND tenant = ?"
            args.append(tenant)
        if before is not None:
            sql += " AND id < ?"
            args.append(before)
        rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [
            AuditEntry(
                id=r[0],
                ts=r[1],
                actor=r[2],
                token_id=r[3],
                tenant=r[4],
                method=r[5],
                path=r[6],
                status=r[7],
                client=r[8],
            )
            for r in rows
        ]

    # -- services --------------------------------------------------------------------------------
    def create_service(self, new: NewService) -> Service:
        tenant_id = self._tenant_id(new.tenant)
        if self._db.execute("SELECT 1 FROM services WHERE name = ?", (new.name,)).fetchone():
            raise Conflict(f"a service named {new.name!r} exists already")
        now = time.time()
        self._write(
            lambda: self._db.execute(
                "INSERT INTO services (tenant_id, name, description, approval, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (tenant_id, new.name, new.description, int(new.approval), now),
            )
        )
        return self.service(new.name)

    def service(self, name: str) -> Service:
        row = self._db.execute(
            "SELECT s.id, t.name, s.name, s.description, s.approval, s.created_at FROM services s "
            "JOIN tenants t ON t.id = s.tenant_id WHERE s.name = ?",
            (name,),
        ).fetchone()
        if row is None:
            raise NotFound(f"no service {name!r}")
        return self._service(row)

    def list_services(self, tenant: str | None = None) -> list[Service]:
        sql = (
            "SELECT s.id, t.name, s.name, s.description, s.approval, s.created_at FROM services s "
            "JOIN tenants t ON t.id = s.tenant_id"
        )
        rows = (
            self._db.execute(sql + " WHERE t.name = ? ORDER BY s.name", (tenant,)).fetchall()
            if tenant is not None
            else self._db.execute(sql + " ORDER BY s.name").fetchall()
        )
        return [self._service(r) for r in rows]

    def _service(self, row: tuple[Any, ...]) -> Service:
        versions = self._db.execute(
            "SELECT version, kind, state, model_group, spec, deprecated_at, sunset_at, created_at "
            "FROM service_versions WHERE service_id = ? ORDER BY version",
            (row[0],),
        ).fetchall()
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
            lambda: self._db.execute(
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
        now = time.time()

        def update() -> None:
            self._db.execute(
                "UPDATE service_versions SET state = ?, "
                "deprecated_at = CASE WHEN ? = 'deprecated' THEN ? ELSE deprecated_at END, "
                "sunset_at = COALESCE(?, sunset_at) "
                "WHERE version = ? AND service_id = (SELECT id FROM services WHERE name = ?)",
                (state, state, now, sunset_at, version, name),
            )

        self._write(update)
        return self._version(name, version)

    # -- subscriptions ---------------------------------------------------------------------------
    def subscribe(self, service: str, app: str, tenant: str | None) -> Subscription:
        target = self.service(service)
        if not any(v.state in SERVED_STATES for v in target.versions):
            raise Conflict(f"service {service!r} has no published version to subscribe to")
        app_id, app_tenant = self.resolve_app(app, tenant)
        # Approval is for other tenants' apps; a service's own tenant needs none.
        state = "pending" if target.approval and app_tenant != target.tenant else "approved"
        now = time.time()

        def upsert() -> None:
            self._db.execute(
                "INSERT INTO subscriptions (service_id, app_id, state, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (service_id, app_id) DO UPDATE SET state = excluded.state, reason = '', "
                "decided_by = '', decided_at = NULL, created_at = excluded.created_at "
                "WHERE subscriptions.state IN ('rejected', 'revoked')",
                (target.id, app_id, state, now),
            )

        self._write(upsert)
        row = self._db.execute(
            _SUBSCRIPTION_COLUMNS + " WHERE s.service_id = ? AND s.app_id = ?", (target.id, app_id)
        ).fetchone()
        return _subscription(row)

    def subscription(self, subscription_id: int) -> Subscription:
        row = self._db.execute(_SUBSCRIPTION_COLUMNS + " WHERE s.id = ?", (subscription_id,)).fetchone()
        if row is None:
            raise NotFound(f"no subscription {subscription_id}")
        return _subscription(row)

    def list_subscriptions(self, tenant: str | None = None) -> list[Subscription]:
        """All, or those a tenant is party to: its apps' and those to its services."""
        if tenant is None:
            rows = self._db.execute(_SUBSCRIPTION_COLUMNS + " ORDER BY s.id").fetchall()
        else:
            rows = self._db.execute(
                _SUBSCRIPTION_COLUMNS + " WHERE t.name = ? OR vt.name = ? ORDER BY s.id", (tenant, tenant)
            ).fetchall()
        return [_subscription(r) for r in rows]

    def decide(self, subscription_id: int, state: str, reason: str, by: str) -> Subscription:
        current = self.subscription(subscription_id)
        allowed = {
            "approved": ("pending", "rejected"),
            "rejected": ("pending",),
            "revoked": ("approved", "pending"),
        }
        if current.state not in allowed[state]:
            raise Conflict(f"subscription {subscription_id} is {current.state}; it cannot become {state}")
        self._write(
            lambda: self._db.execute(
                "UPDATE subscriptions SET state = ?, reason = ?, decided_by = ?, decided_at = ? WHERE id = ?",
                (state, reason, by, time.time(), subscription_id),
            )
        )
        return self.subscription(subscription_id)

    # -- what workers load -----------------------------------------------------------------------
    def _served(self) -> tuple[list[ServedVersion], list[Grant]]:
        rows = self._db.execute(
            "SELECT s.name, t.name, v.version, v.kind, v.state, v.model_group, v.spec, v.deprecated_at, "
            "v.sunset_at FROM service_versions v JOIN services s ON s.id = v.service_id "
            "JOIN tenants t ON t.id = s.tenant_id WHERE v.state != 'draft' ORDER BY s.name, v.version"
        ).fetchall()
        served = [
            ServedVersion(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                _spec.decode(r[6]),
                r[7],
                r[8],
            )
            for r in rows
        ]
        grants = [
            Grant(r[1], r[3], r[4], r[5], r[6]) for r in self._db.execute(_SUBSCRIPTION_COLUMNS).fetchall()
        ]
        return served, grants


def _token(r: tuple[Any, ...]) -> AdminToken:
    return AdminToken(
        id=r[0], prefix=r[1], user=r[2], tenant=r[3], created_at=r[4], expires_at=r[5], revoked_at=r[6]
    )


def _subscription(r: tuple[Any, ...]) -> Subscription:
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
