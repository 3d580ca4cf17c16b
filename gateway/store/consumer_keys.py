"""Consumer keys: the credentials apps call with, stored only as SHA-256 digests."""

from __future__ import annotations

import json
import time
from typing import Any

import msgspec

from .. import credentials
from .base import Conflict, NotFound
from .database import Row, where
from .records import ActiveKey, Allowed, ConsumerKey
from .tenants import Tenants

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


class ConsumerKeys(Tenants):
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
            self._db.run(
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
                    self._db.run(
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
            lambda: self._db.run(
                "UPDATE consumer_keys SET expires_at = CASE WHEN expires_at < ? THEN expires_at ELSE ? END "
                "WHERE id = ?",
                (until, until, key_id),
            )
        )
        return new

    def revoke_key(self, key_id: str) -> ConsumerKey:
        def update() -> None:
            changed = self._db.run(
                "UPDATE consumer_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (time.time(), key_id),
            )
            if not changed and not self._db.one("SELECT 1 FROM consumer_keys WHERE id = ?", (key_id,)):
                raise NotFound(f"no consumer key with id {key_id!r}")

        self._write(update)
        return self.get_key(key_id)

    def get_key(self, key_id: str) -> ConsumerKey:
        row = self._db.one(_KEY_COLUMNS + " WHERE k.id = ?", (key_id,))
        if row is None:
            raise NotFound(f"no consumer key with id {key_id!r}")
        return _key_record(row)

    def list_keys(self, tenant: str | None = None, app: str | None = None) -> list[ConsumerKey]:
        clause, args = where({"t.name": tenant, "a.name": app})
        return [_key_record(r) for r in self._db.all(_KEY_COLUMNS + clause + " ORDER BY k.created_at", args)]

    def _active_keys(self) -> list[ActiveKey]:
        """The keys the data plane admits. Keys that expired within the last day stay, so their
        callers hear "expired"."""
        rows = self._db.all(
            "SELECT k.id, k.digest, t.name, a.name, a.models, k.expires_at, k.temporary, "
            "k.allowed FROM consumer_keys k "
            "JOIN apps a ON a.id = k.app_id JOIN tenants t ON t.id = a.tenant_id "
            "WHERE k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?)",
            (time.time() - EXPIRED_KEPT_S,),
        )
        return [
            ActiveKey(r[0], bytes(r[1]), r[2], r[3], json.loads(r[4]), r[5], bool(r[6]), _allowed(r[7]))
            for r in rows
        ]


def _key_record(r: Row) -> ConsumerKey:
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


def _allowed(text: Any) -> Allowed | None:
    return msgspec.json.decode(text, type=Allowed) if text else None
