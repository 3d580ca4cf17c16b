"""Rows of the durable store, shared by the store, the admin API (and its OpenAPI document) and the CLI."""

from __future__ import annotations

import msgspec


class Tenant(msgspec.Struct, kw_only=True):
    id: int
    name: str
    created_at: float


class App(msgspec.Struct, kw_only=True):
    id: int
    tenant: str
    name: str
    # Model groups this app may call; "*" means all.
    models: list[str]
    created_at: float


class ConsumerKey(msgspec.Struct, kw_only=True):
    """A consumer credential as listed: never the key itself, only its visible prefix."""

    id: str
    tenant: str
    app: str
    prefix: str
    name: str | None = None
    created_at: float
    revoked_at: float | None = None


class ActiveKey(msgspec.Struct, array_like=True):
    """What the data plane loads per usable key: the digest and who it belongs to."""

    id: str
    digest: bytes
    tenant: str
    app: str
    models: list[str]


class Snapshot(msgspec.Struct, kw_only=True):
    generation: int
    keys: list[ActiveKey]
