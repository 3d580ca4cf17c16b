"""The embedded store: one SQLite file in WAL mode, shared by the CLI, the admin listener and
every worker (each process opens its own connection)."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from .. import credentials
from .base import Ambiguous, Conflict, NotFound, Store
from .migrations import migrations, statements
from .records import (
    ActiveKey,
    Allowed,
    App,
    BudgetRecord,
    BudgetRule,
    BudgetScope,
    ConsumerKey,
    LimitRecord,
    LimitRule,
    LimitScope,
    Snapshot,
    Tenant,
    UpstreamKeyRecord,
    UpstreamSecret,
)
from .sealing import Sealer
from .sqlite_tenancy import TenancyMixin

T = TypeVar("T")
# How long an expired key stays in the data plane's tables, so its caller is told it expired.
EXPIRED_KEPT_S = 86400.0

_KEY_COLUMNS = """
    SELECT k.id, t.name, a.name, k.prefix, k.name, k.created_at, k.revoked_at, k.expires_at,
           k.temporary, (SELECT amount FROM budgets b WHERE b.scope = 'key' AND b.subject = k.id
           AND b.kind = 'requests' AND b.period = 'lifetime'), (SELECT amount FROM budgets b WHERE
           b.scope = 'key' AND b.subject = k.id AND b.kind = 'tokens' AND b.period = 'lifetime'),
           k.allowed
    FROM consumer_keys k JOIN apps a ON a.id = k.app_id JOIN tenants t ON t.id = a.tenant_id
"""


def default_store_path() -> Path:
    home = os.environ.get("AIGW_HOME")
    return Path(home) / "aigw.db" if home else Path("var") / "aigw.db"


class SQLiteStore(TenancyMixin, Store):
    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path else default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so writers never deadlock.
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()
        self._sealer: Sealer | None = None  # made on first use: most processes never need it

    # -- schema -------------------------------------------------------------------------------
    def _migrate(self) -> None:
        """Bring the schema to the newest version this aigw knows, step by step, in one
        transaction; refuse a store made by a newer aigw."""
        steps = migrations("sqlite")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            current = self._db.execute("PRAGMA user_version").fetchone()[0]
            if current > len(steps):
                raise RuntimeError(
                    f"{self.path}: schema version {current} is newer than this aigw knows "
                    f"({len(steps)}); upgrade aigw"
                )
            for step in steps[current:]:
                for statement in statements(step.sql):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {step.version}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    # -- writes: each one a transaction that bumps the generation ------------------------------
    def _write(self, fn: Callable[[], T]) -> T:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = fn()
            self._db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
            self._db.execute("COMMIT")
            return result
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def generation(self) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    def ensure_tenant(self, name: str) -> Tenant:
        row = self._db.execute("SELECT id, name, created_at FROM tenants WHERE name = ?", (name,)).fetchone()
        if row:
            return Tenant(id=row[0], name=row[1], created_at=row[2])

        def insert() -> Tenant:
            now = time.time()
            cur = self._db.execute("INSERT INTO tenants (name, created_at) VALUES (?, ?)", (name, now))
            return Tenant(id=int(cur.lastrowid or 0), name=name, created_at=now)

        return self._write(insert)

    def ensure_app(self, tenant: str, name: str, models: list[str]) -> App:
        t = self.ensure_tenant(tenant)
        row = self._db.execute(
            "SELECT id, models, created_at FROM apps WHERE tenant_id = ? AND name = ?", (t.id, name)
        ).fetchone()
        encoded = json.dumps(models)
        if row and row[1] == encoded:
            return App(id=row[0], tenant=tenant, name=name, models=models, created_at=row[2])

        def upsert() -> App:
            now = time.time()
            if row:
                self._db.execute("UPDATE apps SET models = ? WHERE id = ?", (encoded, row[0]))
                return App(id=row[0], tenant=tenant, name=name, models=models, created_at=row[2])
            cur = self._db.execute(
                "INSERT INTO apps (tenant_id, name, models, created_at) VALUES (?, ?, ?, ?)",
                (t.id, name, encoded, now),
            )
            return App(id=int(cur.lastrowid or 0), tenant=tenant, name=name, models=models, created_at=now)

        return self._write(upsert)

    def create_key(
        self,
        app: str,
        tenant: str | None = None,
        name: str | None = None,
        *,
        expires_at: float | None = None,
        temporary: bool = False,
        max_requests: int | None = None,
        max_tokens: int | None = None,
        allowed: Allowed | None = None,
    ) -> tuple[ConsumerKey, str]:
        app_id, _ = self.resolve_app(app, tenant)
        secret = credentials.new_key()
        key_id = credentials.new_key_id()
        now = time.time()
        allowed_text = json.dumps(msgspec.to_builtins(allowed)) if allowed is not None else None

        def insert() -> None:
            self._db.execute(
                "INSERT INTO consumer_keys (id, app_id, digest, prefix, name, created_at, expires_at, "
                "temporary, allowed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key_id,
                    app_id,
                    credentials.digest(secret),
                    credentials.visible_prefix(secret),
                    name,
                    now,
                    expires_at,
                    int(temporary),
                    allowed_text,
                ),
            )
            # Caps are the key's lifetime budgets: the limiter enforces them across workers.
            for kind, amount in (("requests", max_requests), ("tokens", max_tokens)):
                if amount is not None:
                    self._db.execute(
                        "INSERT INTO budgets (scope, subject, kind, period, amount) "
                        "VALUES ('key', ?, ?, 'lifetime', ?)",
                        (key_id, kind, amount),
                    )

        self._write(insert)
        return self.get_key(key_id), secret

    def rotate_key(self, key_id: str, overlap_s: float) -> tuple[ConsumerKey, str]:
        """A new key for the same app; the old one keeps working for `overlap_s` seconds."""
        old = self.get_key(key_id)
        if old.revoked_at is not None or old.temporary:
            raise Conflict(f"consumer key {key_id!r} is {'revoked' if old.revoked_at else 'temporary'}")
        new = self.create_key(old.app, old.tenant, old.name)
        until = time.time() + overlap_s
        self._write(
            lambda: self._db.execute(
                "UPDATE consumer_keys SET expires_at = MIN(COALESCE(expires_at, ?), ?) WHERE id = ?",
                (until, until, key_id),
            )
        )
        return new

    def revoke_key(self, key_id: str) -> ConsumerKey:
        def update() -> None:
            cur = self._db.execute(
                "UPDATE consumer_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (time.time(), key_id),
            )
            if (
                cur.rowcount == 0
                and not self._db.execute("SELECT 1 FROM consumer_keys WHERE id = ?", (key_id,)).fetchone()
            ):
                raise NotFound(f"no consumer key with id {key_id!r}")

        self._write(update)
        return self.get_key(key_id)

    def set_limits(self, scope: LimitScope, subject: str, rules: list[LimitRule]) -> list[LimitRecord]:
        self._check_subject(scope, subject)

        def replace() -> None:
            kept = []
            for rule in rules:
                burst = rule.burst or rule.amount
                row = self._db.execute(
                    "SELECT id, amount FROM limits "
                    "WHERE scope = ? AND subject = ? AND kind = ? AND period_s = ?",
                    (scope, subject, rule.kind, rule.period_s),
                ).fetchone()
                if row and row[1] == rule.amount:
                    # Same rate: keep the id, and so the bucket's state; only the burst may change.
                    self._db.execute("UPDATE limits SET burst = ? WHERE id = ?", (burst, row[0]))
                    kept.append(row[0])
                    continue
                if row:
                    # A new rate starts afresh in a new bucket: time owed at the old rate means
                    # nothing at the new one.
                    self._db.execute("DELETE FROM limits WHERE id = ?", (row[0],))
                cur = self._db.execute(
                    "INSERT INTO limits (scope, subject, kind, amount, period_s, burst) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (scope, subject, rule.kind, rule.amount, rule.period_s, burst),
                )
                kept.append(cur.lastrowid)
            marks = ",".join("?" * len(kept))
            self._db.execute(
                f"DELETE FROM limits WHERE scope = ? AND subject = ? AND id NOT IN ({marks})",
                (scope, subject, *kept),
            )

        # Skip writes (and generation bumps) that would change nothing.
        current = sorted((r.kind, r.period_s, r.amount, r.burst) for r in self.list_limits(scope, subject))
        wanted = sorted({(r.kind, r.period_s, r.amount, r.burst or r.amount) for r in rules})
        if current != wanted:
            self._write(replace)
        return self.list_limits(scope, subject)

    def set_budgets(self, scope: BudgetScope, subject: str, rules: list[BudgetRule]) -> list[BudgetRecord]:
        self._check_subject(scope, subject)
        wanted = {(r.kind, r.period): r.amount for r in rules}
        if len(wanted) != len(rules):
            raise ValueError("give at most one budget of each kind per period")
        current = {(r.kind, r.period): r for r in self.list_budgets(scope, subject)}

        def replace() -> None:
            for (kind, period), amount in wanted.items():
                if (kind, period) in current:
                    self._db.execute(
                        "UPDATE budgets SET amount = ? WHERE id = ?", (amount, current[kind, period].id)
                    )
                else:
                    self._db.execute(
                        "INSERT INTO budgets (scope, subject, kind, period, amount) VALUES (?, ?, ?, ?, ?)",
                        (scope, subject, kind, period, amount),
                    )
            for key, record in current.items():
                if key not in wanted:
                    self._db.execute("DELETE FROM budgets WHERE id = ?", (record.id,))

        # Skip writes (and generation bumps) that would change nothing.
        if {key: r.amount for key, r in current.items()} != wanted:
            self._write(replace)
        return self.list_budgets(scope, subject)

    def list_budgets(
        self, scope: BudgetScope | None = None, subject: str | None = None
    ) -> list[BudgetRecord]:
        where, args = _where({"scope": scope, "subject": subject})
        sql = "SELECT id, scope, subject, kind, amount, period FROM budgets"
        sql += where + " ORDER BY scope, subject, kind, period"
        return [
            BudgetRecord(id=r[0], scope=r[1], subject=r[2], kind=r[3], amount=r[4], period=r[5])
            for r in self._db.execute(sql, args).fetchall()
        ]

    def _check_subject(self, scope: LimitScope | BudgetScope, subject: str) -> None:
        if scope == "tenant":
            found = self._db.execute("SELECT 1 FROM tenants WHERE name = ?", (subject,)).fetchone()
        elif scope == "app":
            tenant, _, app = subject.partition("/")
            found = self._db.execute(
                "SELECT 1 FROM apps a JOIN tenants t ON t.id = a.tenant_id WHERE t.name = ? AND a.name = ?",
                (tenant, app),
            ).fetchone()
        elif scope == "key":
            found = self._db.execute("SELECT 1 FROM consumer_keys WHERE id = ?", (subject,)).fetchone()
        elif scope == "service":
            found = self._db.execute("SELECT 1 FROM services WHERE name = ?", (subject,)).fetchone()
        else:
            found = True  # model groups live in the config, which the caller checked
        if not found:
            raise NotFound(f"no {scope} {subject!r}")

    # -- reads ---------------------------------------------------------------------------------
    def list_limits(self, scope: LimitScope | None = None, subject: str | None = None) -> list[LimitRecord]:
        where, args = _where({"scope": scope, "subject": subject})
        sql = "SELECT id, scope, subject, kind, amount, period_s, burst FROM limits"
        sql += where + " ORDER BY scope, subject, kind, period_s"
        return [
            LimitRecord(id=r[0], scope=r[1], subject=r[2], kind=r[3], amount=r[4], period_s=r[5], burst=r[6])
            for r in self._db.execute(sql, args).fetchall()
        ]

    def list_tenants(self) -> list[Tenant]:
        rows = self._db.execute("SELECT id, name, created_at FROM tenants ORDER BY name").fetchall()
        return [Tenant(id=r[0], name=r[1], created_at=r[2]) for r in rows]

    def list_apps(self, tenant: str | None = None) -> list[App]:
        where, args = _where({"t.name": tenant})
        sql = (
            "SELECT a.id, t.name, a.name, a.models, a.created_at FROM apps a "
            "JOIN tenants t ON t.id = a.tenant_id" + where
        )
        rows = self._db.execute(sql + " ORDER BY t.name, a.name", args).fetchall()
        return [App(id=r[0], tenant=r[1], name=r[2], models=json.loads(r[3]), created_at=r[4]) for r in rows]

    def list_keys(self, tenant: str | None = None, app: str | None = None) -> list[ConsumerKey]:
        where, args = _where({"t.name": tenant, "a.name": app})
        sql = _KEY_COLUMNS + where + " ORDER BY k.created_at"
        return [_key_record(r) for r in self._db.execute(sql, args).fetchall()]

    # -- provider keys added at runtime (secrets sealed) ---------------------------------------
    def sealer(self) -> Sealer:
        if self._sealer is None:
            self._sealer = Sealer.for_store(self.path)
        return self._sealer

    def add_upstream_key(self, provider: str, key_id: str, secret: str) -> UpstreamKeyRecord:
        sealed = self.sealer().seal(secret, f"{provider}/{key_id}")
        now = time.time()

        def insert() -> None:
            try:
                self._db.execute(
                    "INSERT INTO upstream_keys (provider, key_id, sealed, created_at) VALUES (?, ?, ?, ?)",
                    (provider, key_id, sealed, now),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"provider {provider!r} already has a key {key_id!r}") from None

        self._write(insert)
        return UpstreamKeyRecord(provider=provider, key_id=key_id, created_at=now)

    def rotate_upstream_key(self, provider: str, key_id: str, secret: str) -> UpstreamKeyRecord:
        sealed = self.sealer().seal(secret, f"{provider}/{key_id}")

        def update() -> None:
            cur = self._db.execute(
                "UPDATE upstream_keys SET sealed = ?, rotated_at = ? WHERE provider = ? AND key_id = ?",
                (sealed, time.time(), provider, key_id),
            )
            if cur.rowcount == 0:
                raise NotFound(f"provider {provider!r} has no stored key {key_id!r}")

        self._write(update)
        return self._upstream_key(provider, key_id)

    def remove_upstream_key(self, provider: str, key_id: str) -> UpstreamKeyRecord:
        record = self._upstream_key(provider, key_id)
        self._write(
            lambda: self._db.execute(
                "DELETE FROM upstream_keys WHERE provider = ? AND key_id = ?", (provider, key_id)
            )
        )
        return record

    def list_upstream_keys(self) -> list[UpstreamKeyRecord]:
        rows = self._db.execute(
            "SELECT provider, key_id, created_at, rotated_at FROM upstream_keys ORDER BY provider, created_at"
        ).fetchall()
        return [UpstreamKeyRecord(provider=r[0], key_id=r[1], created_at=r[2], rotated_at=r[3]) for r in rows]

    def upstream_secrets(self) -> list[UpstreamSecret]:
        rows = self._db.execute(
            "SELECT provider, key_id, sealed FROM upstream_keys ORDER BY provider, created_at"
        ).fetchall()
        if not rows:
            return []
        sealer = self.sealer()
        return [UpstreamSecret(r[0], r[1], sealer.open(bytes(r[2]), f"{r[0]}/{r[1]}")) for r in rows]

    def _upstream_key(self, provider: str, key_id: str) -> UpstreamKeyRecord:
        row = self._db.execute(
            "SELECT created_at, rotated_at FROM upstream_keys WHERE provider = ? AND key_id = ?",
            (provider, key_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"provider {provider!r} has no stored key {key_id!r}")
        return UpstreamKeyRecord(provider=provider, key_id=key_id, created_at=row[0], rotated_at=row[1])

    def snapshot(self) -> Snapshot:
        # One read transaction: the generation and the keys always belong together.
        self._db.execute("BEGIN")
        try:
            generation = self.generation()
            # Keys that expired within the last day stay, so their callers hear "expired".
            rows = self._db.execute(
                "SELECT k.id, k.digest, t.name, a.name, a.models, k.expires_at, k.temporary, "
                "k.allowed FROM consumer_keys k "
                "JOIN apps a ON a.id = k.app_id JOIN tenants t ON t.id = a.tenant_id "
                "WHERE k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?)",
                (time.time() - EXPIRED_KEPT_S,),
            ).fetchall()
            limits = self.list_limits()
            services, grants = self._served()
            budgets = self.list_budgets()
            upstream = self.upstream_secrets()
        finally:
            self._db.execute("COMMIT")
        keys = [
            ActiveKey(r[0], bytes(r[1]), r[2], r[3], json.loads(r[4]), r[5], bool(r[6]), _allowed(r[7]))
            for r in rows
        ]
        return Snapshot(
            generation=generation,
            keys=keys,
            limits=limits,
            services=services,
            grants=grants,
            upstream_keys=upstream,
            budgets=budgets,
        )

    def close(self) -> None:
        self._db.close()

    # -- helpers -------------------------------------------------------------------------------
    def get_key(self, key_id: str) -> ConsumerKey:
        row = self._db.execute(_KEY_COLUMNS + " WHERE k.id = ?", (key_id,)).fetchone()
        if row is None:
            raise NotFound(f"no consumer key with id {key_id!r}")
        return _key_record(row)

    def resolve_app(self, app: str, tenant: str | None) -> tuple[int, str]:
        sql = "SELECT a.id, t.name FROM apps a JOIN tenants t ON t.id = a.tenant_id WHERE a.name = ?"
        args: tuple[str, ...] = (app,)
        if tenant is not None:
            sql += " AND t.name = ?"
            args = (app, tenant)
        rows = self._db.execute(sql, args).fetchall()
        if not rows:
            where = f" in tenant {tenant!r}" if tenant else ""
            raise NotFound(f"no app named {app!r}{where}")
        if len(rows) > 1:
            tenants = ", ".join(sorted(r[1] for r in rows))
            raise Ambiguous(f"app {app!r} exists in several tenants ({tenants}); name the tenant")
        return int(rows[0][0]), str(rows[0][1])


def _key_record(r: tuple[Any, ...]) -> ConsumerKey:
    return ConsumerKey(
        id=r[0],
        tenant=r[1],
        app=r[2],
        prefix=r[3],
        name=r[4],
        created_at=r[5],
        revoked_at=r[6],
        expires_at=r[7],
        temporary=bool(r[8]),
        max_requests=r[9],
        max_tokens=r[10],
        allowed=_allowed(r[11]),
    )


def _allowed(text: str | None) -> Allowed | None:
    return msgspec.json.decode(text, type=Allowed) if text else None


def _where(filters: dict[str, str | None]) -> tuple[str, list[str]]:
    """A WHERE clause for the filters that are set (column names are ours, never the caller's)."""
    given = {column: value for column, value in filters.items() if value is not None}
    clause = " WHERE " + " AND ".join(f"{column} = ?" for column in given) if given else ""
    return clause, list(given.values())
