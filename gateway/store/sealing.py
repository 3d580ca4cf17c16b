"""Provider key secrets at rest: AES-256-GCM, bound to the key's provider and id (so a sealed
secret copied onto another row does not open).

The data key comes from AIGW_SECRET_KEY (32 bytes, base64) or, without it, for a SQLite store,
from a file of its own beside the store (`<store>.key`, mode 0600), generated on first use.
Whoever can read the store and that file can read the secrets: keep them apart (the variable)
where that matters. A PostgreSQL store is shared by every node, so it needs the variable, the same
on every node.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENV = "AIGW_SECRET_KEY"
NONCE_BYTES = 12


class SealingError(RuntimeError):
    """The data key is missing, malformed, or not the one the secrets were sealed with."""


class Sealer:
    def __init__(self, key: bytes):
        self._aead = AESGCM(key)

    @classmethod
    def for_store(cls, store_path: Path | None) -> Sealer:
        """The data key of a store: AIGW_SECRET_KEY, else the file beside `store_path` (a store
        without a file of its own, PostgreSQL, has none)."""
        text = os.environ.get(ENV)
        if text:
            try:
                key = base64.b64decode(text.strip(), validate=True)
            except binascii.Error:
                key = b""
            if len(key) != 32:
                raise SealingError(f"{ENV} must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)")
            return cls(key)
        if store_path is None:
            raise SealingError(
                f"a store shared by several nodes keeps provider keys sealed under {ENV}: set it, the same "
                "on every node (32 bytes in base64, e.g. `openssl rand -base64 32`)"
            )
        return cls(_key_file(store_path.with_name(store_path.name + ".key")))

    def seal(self, secret: str, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode(), context.encode())

    def open(self, sealed: bytes, context: str) -> str:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context.encode()).decode()
        except InvalidTag:
            raise SealingError(
                f"cannot decrypt the provider key {context!r}: the data key ({ENV} or the store's .key "
                "file) is not the one it was stored with"
            ) from None


def _key_file(path: Path) -> bytes:
    # Written whole under a temporary name, then linked into place: a process racing us reads
    # either no file or a complete one, and exactly one key wins.
    if not path.exists():
        temp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, os.urandom(32))
        finally:
            os.close(fd)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temp)
    key = path.read_bytes()
    if len(key) != 32:
        raise SealingError(f"{path}: not a 32-byte data key")
    return key
