"""What the admission tables are built from: plain data, identical for the native core and the
pure-Python reference, so the two can be tested against each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Route ids: stable small ints the glue dispatches on.
ROUTE_CHAT = 1
ROUTE_EMBEDDINGS = 2
ROUTE_MODELS = 3
ROUTE_MESSAGES = 4  # the Anthropic Messages ingress
ROUTE_PROMPT = 5  # prompt APIs: POST /apis/<service>/v<n> (docs/tenancy.md)

OPENAI_ROUTES: dict[tuple[str, str], int] = {
    ("POST", "/v1/chat/completions"): ROUTE_CHAT,
    ("POST", "/v1/embeddings"): ROUTE_EMBEDDINGS,
    ("GET", "/v1/models"): ROUTE_MODELS,
    ("POST", "/v1/messages"): ROUTE_MESSAGES,
    ("POST", "/apis/{service}/{version}"): ROUTE_PROMPT,
}

# Whose limit or budget it is, as the call log and metrics name what refused a call.
SCOPES = ("tenant", "app", "key", "model", "service", "upstream_key")

KIND_REQUESTS = "requests"
KIND_TOKENS = "tokens"
KIND_COST = "cost"  # budgets only: micro-USD (1,000,000 = $1)

# Budget periods: UTC calendar day, UTC calendar month, or never reset.
PERIOD_DAY = "day"
PERIOD_MONTH = "month"
PERIOD_LIFETIME = "lifetime"


@dataclass(frozen=True, slots=True)
class LimitSpec:
    # Stable across processes and restarts: it names the limit's GCRA bucket in shared memory.
    id: int
    # Whose limit it is, for messages: "app 'default/demo'".
    name: str
    kind: str  # KIND_REQUESTS or KIND_TOKENS
    amount: int
    period_s: int
    # How many units may be taken at once (the bucket's capacity); GCRA admits at most
    # burst + t * amount / period_s in any interval of length t.
    burst: int
    # One of SCOPES: a refusal by this limit says so (Rejection.limit_scope).
    scope: str = ""
    # A limit of the cluster, not of this node: when the region says the node is in a cluster,
    # charged through Redis (exact), against this node's lease of it, or, while Redis is
    # unreachable, as this node's share of it (docs/cluster.md). A stored limit is; an upstream
    # key's configured one is not.
    shared: bool = False


@dataclass(frozen=True, slots=True)
class BudgetSpec:
    """A cap on what a tenant, app or consumer key may use per period: `amount` requests, tokens
    or micro-USD (kind) per UTC day or month, or in all (lifetime). Its counter lives in shared
    memory under this id, so it is exact across the node's workers (gateway/admission/budgets.py)."""

    # Stable across processes and restarts: it names the budget's counter in shared memory.
    id: int
    # Whose budget it is, for messages: "app 'default/demo'".
    name: str
    kind: str  # KIND_REQUESTS, KIND_TOKENS or KIND_COST
    amount: int
    period: str  # PERIOD_DAY, PERIOD_MONTH or PERIOD_LIFETIME
    # Set for a temporary key's cap: once used up the key is spent, answered 401 with this.
    used_up: str = ""
    # One of SCOPES (tenant, app or key): a refusal by this budget says so.
    scope: str = ""


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    digest: bytes
    key_id: str
    tenant: str
    app: str
    # None: every model group; otherwise the names allowed.
    models: frozenset[str] | None
    # Ids of the limits every admitted request of this consumer is charged to (tenant, app, key).
    limits: tuple[int, ...] = ()
    # Ids of the budgets every admitted request of this consumer is charged to.
    budgets: tuple[int, ...] = ()
    # Gated groups (services) this consumer may call: its app's approved subscriptions.
    services: frozenset[str] = frozenset()
    # Why a gated group is refused, where there is more to say than "not subscribed" (pending,
    # rejected, revoked), by group name.
    refusals: dict[str, str] = field(default_factory=dict)
    # CLOCK_MONOTONIC ns after which the key is refused as expired (0: never), and the message.
    expires_ns: int = 0
    expired: str = ""
    # Client networks (ipaddress networks) the key may be used from, checked before anything is
    # charged; None: anywhere.
    networks: tuple[Any, ...] | None = None


@dataclass(frozen=True, slots=True)
class GroupSpec:
    name: str
    # Opaque to admission: the glue's upstream targets (one per deployment key), in pool order.
    targets: tuple[Any, ...]
    # The shared-memory id of each target's upstream key (layout.key_id), parallel to targets.
    key_ids: tuple[int, ...]
    limits: tuple[int, ...] = ()
    # "headroom": most remaining capacity first (default); "round-robin": each key in turn;
    # "weighted": spread by `weights`.
    strategy: str = "headroom"
    # Groups whose keys serve this one's requests when none of its own can (in order).
    fallbacks: tuple[str, ...] = ()
    # Other public names for this group: same keys, limits and permissions.
    aliases: tuple[str, ...] = ()
    # Priority tiers: targets come sorted by tier, these are the tiers' sizes (empty: one tier).
    # A tier is used only when no earlier tier has a key that can serve.
    tier_sizes: tuple[int, ...] = ()
    # Each target's weight for the weighted strategy (empty: all 1).
    weights: tuple[int, ...] = ()
    # A service's group: callable only by consumers that list it in `services`.
    gated: bool = False
    # Each target's key's configured limits, ids into AdmissionSpec.limits (empty: none). A key
    # over one is not picked; the request is charged to them when the key is.
    key_limits: tuple[tuple[int, ...], ...] = ()


@dataclass(slots=True)
class AdmissionSpec:
    routes: dict[tuple[str, str], int] = field(default_factory=lambda: dict(OPENAI_ROUTES))
    consumers: list[ConsumerSpec] = field(default_factory=list)
    groups: list[GroupSpec] = field(default_factory=list)
    limits: list[LimitSpec] = field(default_factory=list)
    budgets: list[BudgetSpec] = field(default_factory=list)
