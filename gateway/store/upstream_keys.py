"""Provider keys added at runtime. Their secrets are sealed at rest (gateway/store/sealing.py) and
opened only for the processes that send or probe with them."""

from __future__ import annotations

import time
from abc import abstractmethod

from .base import Conflict, NotFound
from .database import Duplicate
from .generation import StorePart
from .records import UpstreamKeyRecord, UpstreamSecret
from .sealing import Sealer


class UpstreamKeys(StorePart):
    _sealer: Sealer | None = None  # made on first use: most processes never need it

    @abstractmethod
    def _make_sealer(self) -> Sealer:
        """The data key of this store's secrets."""

    def sealer(self) -> Sealer:
        if self._sealer is None:
            self._sealer = self._make_sealer()
        return self._sealer

    def add_upstream_key(self, provider: str, key_id: str, secret: str) -> UpstreamKeyRecord:
        """Store a provider key, its secret encrypted (Conflict if the id is taken)."""
        sealed = self.sealer().seal(secret, f"{provider}/{key_id}")
        now = time.time()

        def insert() -> None:
            try:
                self._db.run(
                    "INSERT INTO upstream_keys (provider, key_id, sealed, created_at) VALUES (?, ?, ?, ?)",
                    (provider, key_id, sealed, now),
                )
            except Duplicate:
                raise Conflict(f"provider {provider!r} already has a key {key_id!r}") from None

        self._write(insert)
        return UpstreamKeyRecord(provider=provider, key_id=key_id, created_at=now)

    def rotate_upstream_key(self, provider: str, key_id: str, secret: str) -> UpstreamKeyRecord:
        """Replace a stored provider key's secret; the id, and so its health record, stay."""
        sealed = self.sealer().seal(secret, f"{provider}/{key_id}")

        def update() -> None:
            changed = self._db.run(
                "UPDATE upstream_keys SET sealed = ?, rotated_at = ? WHERE provider = ? AND key_id = ?",
                (sealed, time.time(), provider, key_id),
            )
            if not changed:
                raise NotFound(f"provider {provider!r} has no stored key {key_id!r}")

        self._write(update)
        return self._upstream_key(provider, key_id)

    def remove_upstream_key(self, provider: str, key_id: str) -> UpstreamKeyRecord:
        record = self._upstream_key(provider, key_id)
        self._write(
            lambda: self._db.run(
                "DELETE FROM upstream_keys WHERE provider = ? AND key_id = ?", (provider, key_id)
            )
        )
        return record

    def list_upstream_keys(self) -> list[UpstreamKeyRecord]:
        rows = self._db.all(
            "SELECT provider, key_id, created_at, rotated_at FROM upstream_keys ORDER BY provider, created_at"
        )
        return [UpstreamKeyRecord(provider=r[0], key_id=r[1], created_at=r[2], rotated_at=r[3]) for r in rows]

    def upstream_secrets(self) -> list[UpstreamSecret]:
        """Every stored provider key, decrypted (for the data plane and the supervisor's prober)."""
        rows = self._db.all(
            "SELECT provider, key_id, sealed FROM upstream_keys ORDER BY provider, created_at"
        )
        if not rows:
            return []
        sealer = self.sealer()
        return [UpstreamSecret(r[0], r[1], sealer.open(bytes(r[2]), f"{r[0]}/{r[1]}")) for r in rows]

    def _upstream_key(self, provider: str, key_id: str) -> UpstreamKeyRecord:
        row = self._db.one(
            "SELECT created_at, rotated_at FROM upstream_keys WHERE provider = ? AND key_id = ?",
            (provider, key_id),
        )
        if row is None:
            raise NotFound(f"provider {provider!r} has no stored key {key_id!r}")
        return UpstreamKeyRecord(provider=provider, key_id=key_id, created_at=row[0], rotated_at=row[1])
