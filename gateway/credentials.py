"""Consumer API keys: how they are made, hashed, shown and redacted.

A key is shown once at creation; only its SHA-256 digest is stored. A short visible prefix lets
people tell keys apart in listings without revealing them.
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "aigw-"
VISIBLE_CHARS = 12


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def visible_prefix(key: str) -> str:
    return key[:VISIBLE_CHARS]


def redact(secret: str) -> str:
    """What may be shown of any secret: enough to recognise it, never enough to use it."""
    if len(secret) <= 8:
        return "***"
    return f"{secret[:4]}…{secret[-2:]}"
