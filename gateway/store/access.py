"""Who may use the admin API and what they did: tenant members with roles, admin tokens (stored
only as digests) and the audit log (docs/tenancy.md)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from .. import credentials
from .base import NotFound
from .database import Row
from .tenancy_records import AdminToken, AuditEntry, Member
from .tenants import Tenants

ADMIN_TOKEN_PREFIX = "aigw-admin-"

# "user" is quoted: PostgreSQL reserves the word.
_MEMBER_COLUMNS = (
    'SELECT t.name, m."user", m.role, m.created_at FROM members m JOIN tenants t ON t.id = m.tenant_id'
)
_TOKEN_COLUMNS = """
    SELECT k.id, k.prefix, k."user", t.name, k.created_at, k.expires_at, k.revoked_at
    FROM admin_tokens k LEFT JOIN tenants t ON t.id = k.tenant_id
"""


class Access(Tenants):
    # -- members -----------------------------------------------------------------------------------
    def set_member(self, tenant: str, user: str, role: str) -> Member:
        tenant_id = self._tenant_id(tenant)
        now = time.time()
        self._write(
            lambda: self._db.run(
                'INSERT INTO members (tenant_id, "user", role, created_at) VALUES (?, ?, ?, ?) '
                'ON CONFLICT (tenant_id, "user") DO UPDATE SET role = excluded.role',
                (tenant_id, user, role, now),
            )
        )
        member = self.member(tenant, user)
        assert member is not None
        return member

    def remove_member(self, tenant: str, user: str) -> None:
        tenant_id = self._tenant_id(tenant)

        def delete() -> None:
            if not self._db.run('DELETE FROM members WHERE tenant_id = ? AND "user" = ?', (tenant_id, user)):
                raise NotFound(f"{user!r} is not a member of tenant {tenant!r}")

        self._write(delete)

    def member(self, tenant: str, user: str) -> Member | None:
        row = self._db.one(_MEMBER_COLUMNS + ' WHERE t.name = ? AND m."user" = ?', (tenant, user))
        return Member(tenant=row[0], user=row[1], role=row[2], created_at=row[3]) if row else None

    def list_members(self, tenant: str) -> list[Member]:
        self._tenant_id(tenant)
        rows = self._db.all(_MEMBER_COLUMNS + ' WHERE t.name = ? ORDER BY m."user"', (tenant,))
        return [Member(tenant=r[0], user=r[1], role=r[2], created_at=r[3]) for r in rows]

    # -- admin tokens ------------------------------------------------------------------------------
    def create_admin_token(
        self, user: str, tenant: str | None, expires_at: float | None = None
    ) -> tuple[AdminToken, str]:
        tenant_id = self._tenant_id(tenant) if tenant is not None else None
        secret = ADMIN_TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = "tok_" + secrets.token_hex(8)
        prefix = secret[: len(ADMIN_TOKEN_PREFIX) + 6]
        now = time.time()
        self._write(
            lambda: self._db.run(
                'INSERT INTO admin_tokens (id, digest, prefix, "user", tenant_id, created_at, expires_at) '
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (token_id, credentials.digest(secret), prefix, user, tenant_id, now, expires_at),
            )
        )
        return self.admin_token(token_id), secret

    def admin_token(self, token_id: str) -> AdminToken:
        row = self._db.one(_TOKEN_COLUMNS + " WHERE k.id = ?", (token_id,))
        if row is None:
            raise NotFound(f"no admin token {token_id!r}")
        return _token(row)

    def admin_token_by_secret(self, secret: str) -> AdminToken | None:
        """The live token this secret is, or None (unknown, revoked or expired)."""
        row = self._db.one(
            _TOKEN_COLUMNS + " WHERE k.digest = ? AND k.revoked_at IS NULL", (credentials.digest(secret),)
        )
        if row is None or (row[5] is not None and row[5] <= time.time()):
            return None
        return _token(row)

    def list_admin_tokens(self, tenant: str | None = None) -> list[AdminToken]:
        if tenant is None:
            rows = self._db.all(_TOKEN_COLUMNS + " ORDER BY k.created_at")
        else:
            rows = self._db.all(_TOKEN_COLUMNS + " WHERE t.name = ? ORDER BY k.created_at", (tenant,))
        return [_token(r) for r in rows]

    def revoke_admin_token(self, token_id: str) -> AdminToken:
        self.admin_token(token_id)
        self._write(
            lambda: self._db.run(
                "UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (time.time(), token_id),
            )
        )
        return self.admin_token(token_id)

    # -- the audit log: appended without a generation bump (workers never read it) -----------------
    def audit(
        self, actor: str, token_id: str, tenant: str, method: str, path: str, status: int, client: str
    ) -> None:
        self._db.run(
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
        rows = self._db.all(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
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


def _token(r: Row) -> AdminToken:
    return AdminToken(
        id=r[0], prefix=r[1], user=r[2], tenant=r[3], created_at=r[4], expires_at=r[5], revoked_at=r[6]
    )
