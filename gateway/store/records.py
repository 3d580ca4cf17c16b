"""Rows of the durable store, shared by the store, the admin API (and its OpenAPI document) and the CLI."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..admission.layout import BUDGET_MAX
from .tenancy_records import Grant, ServedVersion


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
    # Set on a rotated key (its overlap window) and on every temporary key.
    expires_at: float | None = None
    temporary: bool = False
    # A temporary key's caps: lifetime budgets of the key (requests, tokens).
    max_requests: int | None = None
    max_tokens: int | None = None
    allowed: Allowed | None = None


class Allowed(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What a temporary key may reach; None: whatever its app may."""

    services: list[str] | None = None
    models: list[str] | None = None
    # Client networks in CIDR notation ("10.0.0.0/8", "2001:db8::/32").
    networks: list[str] | None = None


class ActiveKey(msgspec.Struct, array_like=True):
    """What the data plane loads per usable key: the digest and who it belongs to."""

    id: str
    digest: bytes
    tenant: str
    app: str
    models: list[str]
    expires_at: float | None = None
    temporary: bool = False
    allowed: Allowed | None = None


LimitScope = Literal["tenant", "app", "key", "model", "service"]


class LimitRule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A limit as set: `amount` requests or tokens per `period_s` seconds, `burst` at once."""

    kind: Literal["requests", "tokens"]
    amount: Annotated[int, msgspec.Meta(ge=1)]
    period_s: Annotated[int, msgspec.Meta(ge=1)]
    burst: Annotated[int, msgspec.Meta(ge=1)] | None = None


class LimitRecord(msgspec.Struct, kw_only=True):
    """A stored limit. `subject`: a tenant name, 'tenant/app', a consumer key id or a model group."""

    id: int
    scope: LimitScope
    subject: str
    kind: Literal["requests", "tokens"]
    amount: int
    period_s: int
    burst: int


class UpstreamKeyRecord(msgspec.Struct, kw_only=True):
    """A provider key added at runtime, as listed: never the secret."""

    provider: str
    key_id: str
    created_at: float
    rotated_at: float | None = None


class UpstreamSecret(msgspec.Struct, array_like=True):
    """A provider key added at runtime, decrypted for the processes that send or probe with it."""

    provider: str
    key_id: str
    value: str

    def __repr__(self) -> str:
        # The secret never appears in a repr, so it cannot leak through a log or traceback.
        return f"UpstreamSecret({self.provider!r}, {self.key_id!r}, '***')"


BudgetScope = Literal["tenant", "app", "key"]
BudgetKind = Literal["requests", "tokens", "cost"]
BudgetPeriod = Literal["day", "month", "lifetime"]


class BudgetRule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A budget as set: `amount` requests, tokens or micro-USD (cost; 1,000,000 = $1) per UTC
    `period` (day, month, or lifetime: never resets)."""

    kind: BudgetKind
    amount: Annotated[int, msgspec.Meta(ge=1, le=BUDGET_MAX)]
    period: BudgetPeriod


class BudgetRecord(msgspec.Struct, kw_only=True):
    """A stored budget. `subject`: a tenant name, 'tenant/app' or a consumer key id."""

    id: int
    scope: BudgetScope
    subject: str
    kind: BudgetKind
    # Requests, tokens, or micro-USD for cost (1,000,000 = $1).
    amount: int
    period: BudgetPeriod


class Snapshot(msgspec.Struct, kw_only=True):
    generation: int
    keys: list[ActiveKey]
    limits: list[LimitRecord]
    services: list[ServedVersion] = []
    grants: list[Grant] = []
    budgets: list[BudgetRecord] = msgspec.field(default_factory=list)
    upstream_keys: list[UpstreamSecret] = []
