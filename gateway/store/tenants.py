"""Tenants and their apps: created from the config or the admin API, looked up by name."""

from __future__ import annotations

import json
import time

from .base import Ambiguous, NotFound
from .database import where
from .generation import StorePart
from .records import App, BudgetScope, LimitScope, Tenant


class Tenants(StorePart):
    def ensure_tenant(self, name: str) -> Tenant:
        found = self._tenant(name)
        if found is not None:
            return found

        def insert() -> Tenant:
            # Looked up again inside the write: another process may have just made it.
            again = self._tenant(name)
            if again is not None:
                return again
            now = time.time()
            tenant_id = self._db.insert("INSERT INTO tenants (name, created_at) VALUES (?, ?)", (name, now))
            return Tenant(id=tenant_id, name=name, created_at=now)

        return self._write(insert)

    def ensure_app(self, tenant: str, name: str, models: list[str]) -> App:
        t = self.ensure_tenant(tenant)
        encoded = json.dumps(models)
        select = "SELECT id, models, created_at FROM apps WHERE tenant_id = ? AND name = ?"
        row = self._db.one(select, (t.id, name))
        if row and row[1] == encoded:
            return App(id=row[0], tenant=tenant, name=name, models=models, created_at=row[2])

        def upsert() -> App:
            now = time.time()
            current = self._db.one(select, (t.id, name))
            if current:
                self._db.run("UPDATE apps SET models = ? WHERE id = ?", (encoded, current[0]))
                return App(id=current[0], tenant=tenant, name=name, models=models, created_at=current[2])
            app_id = self._db.insert(
                "INSERT INTO apps (tenant_id, name, models, created_at) VALUES (?, ?, ?, ?)",
                (t.id, name, encoded, now),
            )
            return App(id=app_id, tenant=tenant, name=name, models=models, created_at=now)

        return self._write(upsert)

    def list_tenants(self) -> list[Tenant]:
        rows = self._db.all("SELECT id, name, created_at FROM tenants ORDER BY name")
        return [Tenant(id=r[0], name=r[1], created_at=r[2]) for r in rows]

    def list_apps(self, tenant: str | None = None) -> list[App]:
        clause, args = where({"t.name": tenant})
        sql = (
            "SELECT a.id, t.name, a.name, a.models, a.created_at FROM apps a "
            "JOIN tenants t ON t.id = a.tenant_id" + clause
        )
        rows = self._db.all(sql + " ORDER BY t.name, a.name", args)
        return [App(id=r[0], tenant=r[1], name=r[2], models=json.loads(r[3]), created_at=r[4]) for r in rows]

    def resolve_app(self, app: str, tenant: str | None) -> tuple[int, str]:
        """The app's id and its tenant's name (NotFound, or Ambiguous without the tenant)."""
        sql = "SELECT a.id, t.name FROM apps a JOIN tenants t ON t.id = a.tenant_id WHERE a.name = ?"
        args: tuple[str, ...] = (app,)
        if tenant is not None:
            sql += " AND t.name = ?"
            args = (app, tenant)
        rows = self._db.all(sql, args)
        if not rows:
            within = f" in tenant {tenant!r}" if tenant else ""
            raise NotFound(f"no app named {app!r}{within}")
        if len(rows) > 1:
            tenants = ", ".join(sorted(r[1] for r in rows))
            raise Ambiguous(f"app {app!r} exists in several tenants ({tenants}); name the tenant")
        return int(rows[0][0]), str(rows[0][1])

    def _tenant(self, name: str) -> Tenant | None:
        row = self._db.one("SELECT id, name, created_at FROM tenants WHERE name = ?", (name,))
        return Tenant(id=row[0], name=row[1], created_at=row[2]) if row else None

    def _tenant_id(self, name: str) -> int:
        found = self._tenant(name)
        if found is None:
            raise NotFound(f"no tenant {name!r}")
        return found.id

    def _check_subject(self, scope: LimitScope | BudgetScope, subject: str) -> None:
        """NotFound unless the tenant, app, key or service a limit or budget is for exists."""
        if scope == "tenant":
            found = self._db.one("SELECT 1 FROM tenants WHERE name = ?", (subject,))
        elif scope == "app":
            tenant, _, app = subject.partition("/")
            found = self._db.one(
                "SELECT 1 FROM apps a JOIN tenants t ON t.id = a.tenant_id WHERE t.name = ? AND a.name = ?",
                (tenant, app),
            )
        elif scope == "key":
            found = self._db.one("SELECT 1 FROM consumer_keys WHERE id = ?", (subject,))
        elif scope == "service":
            found = self._db.one("SELECT 1 FROM services WHERE name = ?", (subject,))
        else:
            found = (1,)  # model groups live in the config, which the caller checked
        if not found:
            raise NotFound(f"no {scope} {subject!r}")
