"""The config file's shape, as msgspec Structs. Unknown fields are errors, so typos fail loudly.

Every field is documented in docs/configuration.md; keep the two in step.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from ..mock.options import MockOptions
from ..providers.anthropic import AnthropicOptions
from ..providers.azure import AzureOptions
from ..providers.gemini import GeminiOptions
from .observability import CallLogConfig, CaptureConfig, MetricsConfig, PricingConfig


class _Strict(msgspec.Struct, forbid_unknown_fields=True):
    pass


class ServerConfig(_Strict, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8080
    admin_host: str = "127.0.0.1"
    admin_port: int = 8081
    # 0 means one worker per core.
    workers: int = 0
    max_body_bytes: int = 4 * 1024 * 1024
    # How long SIGTERM waits for in-flight requests (streams included) before workers are killed.
    shutdown_timeout_s: float = 30.0
    # How often each worker looks for config changes in the store (revoked keys, new apps).
    reload_interval_s: float = 0.25
    # GCRA buckets in the node's shared memory (16 bytes each): at least one per limit.
    limit_buckets: int = 262144
    # Linux: granian's I/O threads and the reload threads run under SCHED_BATCH, so they never
    # preempt the event loop mid-request (gateway/dataplane/scheduling.py).
    batch_io_threads: bool = True


Period = Literal["second", "minute", "hour", "day"]
PERIOD_SECONDS: dict[str, int] = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


class Limit(_Strict, kw_only=True):
    """One rate limit: `requests` or `tokens` per `per`, with `burst` (default: the amount)
    usable at once. GCRA: at most burst + t x amount / period in any interval t."""

    requests: int | None = None
    tokens: int | None = None
    per: Period = "minute"
    burst: int | None = None


class Budget(_Strict, kw_only=True):
    """A cap per UTC day or month, or in all (`lifetime`): give exactly one of `requests`,
    `tokens` or `cost_usd`. Enforced for the whole node; a used-up budget answers 429 until it
    resets."""

    requests: int | None = None
    tokens: int | None = None
    cost_usd: float | None = None
    per: Literal["day", "month", "lifetime"] = "day"

    @property
    def kind(self) -> str:
        return "requests" if self.requests is not None else "tokens" if self.tokens is not None else "cost"

    @property
    def amount(self) -> int:
        """In the budget's unit: requests, tokens or micro-USD."""
        if self.cost_usd is not None:
            return round(self.cost_usd * 1_000_000)
        return self.requests if self.requests is not None else self.tokens or 0


class StoreConfig(_Strict, kw_only=True):
    # Empty means $AIGW_HOME/aigw.db, or ./var/aigw.db without AIGW_HOME.
    path: str = ""


class UpstreamKey(_Strict, kw_only=True):
    id: str
    value: str
    # This key's own limits, for providers that send no rate-limit headers (None: the
    # provider's key_limits).
    limits: list[Limit] | None = None

    def __repr__(self) -> str:
        # The secret never appears in a repr, so it cannot leak through a log or traceback.
        return f"UpstreamKey(id={self.id!r}, value='***')"


class ProviderConfig(_Strict, kw_only=True):
    name: str
    # openai: any OpenAI-compatible server; mock: started by `aigw serve`; the others translate.
    type: Literal["openai", "mock", "azure", "anthropic", "gemini"]
    # Required for `openai`; a `mock` provider is started by `aigw serve` and gets its URL then.
    base_url: str = ""
    keys: list[UpstreamKey]
    # Limits every key of this provider without limits of its own keeps to (keys added at
    # runtime included): requests or tokens per minute, per day...
    key_limits: list[Limit] = msgspec.field(default_factory=list)
    # Extra headers sent upstream (e.g. OpenAI-Organization).
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    connect_timeout_s: float = 5.0
    # Total time allowed for one upstream response (for streams: until the first byte).
    timeout_s: float = 600.0
    max_connections: int = 256
    # How often a key that ran out of quota, or that the provider refused, is tried again.
    probe_interval_s: float = 30.0
    invalid_probe_interval_s: float = 300.0
    mock: MockOptions | None = None
    # Per-type options (docs/providers.md); each applies to providers of its own type.
    azure: AzureOptions | None = None
    anthropic: AnthropicOptions | None = None
    gemini: GeminiOptions | None = None


class Deployment(_Strict, kw_only=True):
    provider: str
    # The model name sent upstream; empty means the model group's name.
    model: str = ""
    # Lower tiers serve first; a higher tier only when no key of a lower one can.
    priority: int = 0
    # Share of requests under the weighted strategy.
    weight: int = 1


class ModelGroup(_Strict, kw_only=True):
    name: str
    deployments: list[Deployment]
    # Other names callers may use for this group (same keys, limits and permissions).
    aliases: list[str] = msgspec.field(default_factory=list)
    # headroom: the key with most capacity left (as providers report it); round-robin: in turn.
    strategy: Literal["headroom", "round-robin", "weighted"] = "headroom"
    # Attempts per request across the pool's keys (fallbacks included) before giving up.
    max_attempts: int = 3
    # Model groups to try, in order, when no key of this one can serve (any provider).
    fallbacks: list[str] = msgspec.field(default_factory=list)
    # Queue mode: when no key can serve, wait up to this long for one to recover (0: answer 429).
    max_wait_s: float = 0.0
    # Requests one worker lets wait at once; past it, the 429 is immediate.
    max_queue: int = 1000
    # None: limits are managed in the store (admin API); a list here replaces them at start.
    limits: list[Limit] | None = None
    # Body capture for this group's calls; None: `calllog.capture`.
    capture: CaptureConfig | None = None


class AppConfig(_Strict, kw_only=True):
    name: str
    # Model groups this app may call; "*" means all.
    models: list[str] = msgspec.field(default_factory=lambda: ["*"])
    # None: limits are managed in the store (admin API); a list here replaces them at start.
    limits: list[Limit] | None = None
    # Likewise for budgets.
    budgets: list[Budget] | None = None


class TenantConfig(_Strict, kw_only=True):
    name: str
    apps: list[AppConfig] = msgspec.field(default_factory=list)
    # None: limits are managed in the store (admin API); a list here replaces them at start.
    limits: list[Limit] | None = None
    # Likewise for budgets.
    budgets: list[Budget] | None = None


class EventsConfig(_Strict, kw_only=True):
    # URLs that receive every key-health event (JSON POST, retried with backoff).
    webhooks: list[str] = msgspec.field(default_factory=list)
    # A model group's pool is "low" when the mean share of capacity its keys have left falls
    # under this (0..1; 0 turns the event off).
    pool_low_headroom: float = 0.1


class Config(_Strict, kw_only=True):
    version: Literal[1] = 1
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    store: StoreConfig = msgspec.field(default_factory=StoreConfig)
    providers: list[ProviderConfig]
    model_groups: list[ModelGroup]
    # Tenants and apps declared here are created (or updated) in the store at start.
    tenants: list[TenantConfig] = msgspec.field(default_factory=list)
    calllog: CallLogConfig = msgspec.field(default_factory=CallLogConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    pricing: PricingConfig = msgspec.field(default_factory=PricingConfig)
    events: EventsConfig = msgspec.field(default_factory=EventsConfig)
