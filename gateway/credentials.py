"""Consumer API keys: how they are made, hashed and shown.

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
