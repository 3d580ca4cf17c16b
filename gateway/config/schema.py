"""The config file's shape: msgspec Structs whose annotations carry each field's bounds and meaning.

This is the one source of the configuration reference: `python -m gateway.config.docs` writes
docs/configuration.md from it. Unknown fields are errors, so typos fail loudly. Rules within one
section are here too (`__post_init__`); rules across sections are in references.py.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, cast

import msgspec
from msgspec import Meta

from ..admission.layout import BUDGET_MAX
from ..providers.registry import REGISTRY, ProviderType, load
from ..upstream.egress import Egress
from .cluster import ClusterConfig
from .observability import (
    CallLogConfig,
    CaptureConfig,
    LoggingConfig,
    MetricsConfig,
    PricingConfig,
    TracingConfig,
)
from .values import (
    RESTART,
    SECRET,
    Count,
    HeaderName,
    Name,
    NonNegative,
    Port,
    ProxyUrl,
    Seconds,
    Secret,
    SingleLine,
    Url,
)


class _Strict(msgspec.Struct, forbid_unknown_fields=True):
    pass


class ServerConfig(_Strict, kw_only=True):
    """The node's listeners and worker processes."""

    engine: Annotated[
        Literal["native", "granian"],
        Meta(
            extra=RESTART,
            description="the data plane's HTTP server: `granian` (HTTP/1.1 here; the limits below "
            "through its settings where it has them, in the worker where it does not) or `native`, "
            "aigw's own HTTP/1.1 front on uvloop and llhttp, one thread per worker, which enforces "
            "the head, idle, keep-alive and requests-per-connection limits itself and holds back "
            "callers that read slowly. Body limits are the worker's on both. Why the default is "
            "what it is: [benchmarks](benchmarks.md#engines)",
        ),
    ] = "granian"

    host: Annotated[
        str, Meta(extra=RESTART, description="data-plane bind address (`0.0.0.0` for all interfaces)")
    ] = "127.0.0.1"
    port: Annotated[Port, Meta(extra=RESTART, description="data-plane port (the OpenAI-compatible API)")] = (
        8080
    )
    admin_host: Annotated[str, Meta(extra=RESTART, description="admin listener bind address")] = "127.0.0.1"
    admin_port: Annotated[
        Port, Meta(extra=RESTART, description="admin listener port; must differ from `port`")
    ] = 8081
    workers: Annotated[
        int,
        Meta(
            extra=RESTART,
            ge=0,
            description="data-plane worker processes, one event loop each; `0` means one per core",
        ),
    ] = 0
    max_body_bytes: Annotated[
        int, Meta(ge=1024, description="largest request body accepted; a larger one gets 413")
    ] = 4 * 1024 * 1024
    shutdown_timeout_s: Annotated[
        NonNegative,
        Meta(
            extra=RESTART,
            description="on SIGTERM, how long in-flight requests (streams included) may finish before "
            "workers are killed",
        ),
    ] = 30.0
    reload_interval_s: Annotated[
        Seconds,
        Meta(
            description="how often each worker checks the store for changes (keys, apps, limits); "
            "bounds how fast a revocation or a limit change takes effect"
        ),
    ] = 0.25
    limit_buckets: Annotated[
        int,
        Meta(
            extra=RESTART,
            ge=1024,
            description="GCRA buckets in the node's shared memory (16 bytes each); needs one per limit "
            "and budget ever defined while the node runs",
        ),
    ] = 262144
    batch_io_threads: Annotated[
        bool,
        Meta(
            extra=RESTART,
            description="Linux: each worker runs its other threads (granian's I/O threads, and the "
            "threads that read the store on a reload) under `SCHED_BATCH`, so a request arriving "
            "never preempts the event loop in the middle of another; they run when the loop waits or "
            "its time slice ends ([measurements](benchmarks-history.md)). `false` keeps the kernel's "
            "default policy",
        ),
    ] = True
    # What a client may take of a worker: the limits an edge proxy sets on slow, idle and oversized
    # requests ([security](security.md#limits-on-clients)).
    header_timeout_s: Annotated[
        Seconds,
        Meta(
            extra=RESTART,
            description="the request line and headers must have arrived this long after the connection "
            "opened or its previous answer went out; else the connection is closed without an answer. "
            "granian has one timer for a connection waiting for a request head: it applies the "
            "shortest of this, `idle_timeout_s` and `keepalive_timeout_s`",
        ),
    ] = 10.0
    idle_timeout_s: Annotated[
        Seconds,
        Meta(
            extra=RESTART,
            description="a new connection that has sent no byte this long after it opened is closed",
        ),
    ] = 10.0
    keepalive_timeout_s: Annotated[
        NonNegative,
        Meta(
            extra=RESTART,
            description="a kept-alive connection waiting this long for its next request is closed; `0` "
            "closes every connection after its answer. A load balancer in front must close its idle "
            "connections to aigw sooner, or it may send a request on one that aigw is closing",
        ),
    ] = 10.0
    max_header_bytes: Annotated[
        int,
        Meta(
            extra=RESTART,
            ge=8192,
            description="largest request head (request line and headers) accepted; a larger one is "
            "answered 431 and the connection closed. granian also refuses more than 100 headers (431)",
        ),
    ] = 64 * 1024
    body_timeout_s: Annotated[
        Seconds,
        Meta(
            description="the whole request body must have arrived this long after the headers; else "
            "the request is answered 408 `request_timeout` and the connection closed"
        ),
    ] = 60.0
    min_body_rate: Annotated[
        int,
        Meta(
            ge=0,
            description="bytes per second a request body must average once `body_rate_grace_s` has "
            "passed: a body of known length must have arrived within the grace period plus its "
            "length at this rate, a chunked one may never fall behind it; a slower one is answered "
            "408 `request_timeout`. `0`: no rate, only `body_timeout_s`",
        ),
    ] = 1024
    body_rate_grace_s: Annotated[
        NonNegative, Meta(description="how long a request body may take before `min_body_rate` applies")
    ] = 5.0
    max_requests_per_connection: Annotated[
        int,
        Meta(
            extra=RESTART,
            ge=0,
            description="the answer to a connection's request of this number carries "
            "`connection: close`, so long-lived clients reconnect and spread over the workers and "
            "nodes; `0`: no limit",
        ),
    ] = 1000


class StoreConfig(_Strict, kw_only=True):
    """Where the node keeps tenants, apps, keys, limits and the call log."""

    path: Annotated[
        str,
        Meta(
            description="SQLite file; a relative path is relative to the config file's directory, so "
            "every command finds the same store from any working directory. Empty: `$AIGW_HOME/aigw.db`, "
            "or `./var/aigw.db` under the working directory. `aigw serve` and the CLI's commands that "
            "write create it (and say so); a command that only reads never does. `aigw … -v` prints "
            "which store a command uses."
        ),
    ] = ""
    url: Annotated[
        str,
        Meta(
            extra=SECRET,
            pattern=r"^(postgres(ql)?://\S+)?$",
            title="a postgresql:// URL",
            description="A PostgreSQL database every node of a cluster shares, instead of the SQLite "
            "file (`postgresql://user:password@host:5432/db`, `${ENV}` for the password); it needs "
            "`AIGW_SECRET_KEY`, the same on every node ([cluster](cluster.md))",
        ),
    ] = ""

    def __post_init__(self) -> None:
        if self.url and self.path:
            raise ValueError("give `path` (SQLite) or `url` (PostgreSQL), not both")

    def __repr__(self) -> str:
        # The URL's password never appears in a repr.
        return f"StoreConfig(path={self.path!r}, url={re.sub(r':[^:@/]*@', ':***@', self.url)!r})"


Period = Literal["second", "minute", "hour", "day"]
PERIOD_SECONDS: dict[str, int] = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


class Limit(_Strict, kw_only=True):
    """One rate limit: `requests` or `tokens` per `per`, with `burst` usable at once."""

    requests: Annotated[Count | None, Meta(description="the amount, in requests (or give `tokens`)")] = None
    tokens: Annotated[Count | None, Meta(description="the amount, in tokens (or give `requests`)")] = None
    per: Annotated[Period, Meta(description="the period the amount is per")] = "minute"
    burst: Annotated[Count | None, Meta(description="how much may be used at once (none: the amount)")] = None

    def __post_init__(self) -> None:
        if (self.requests is None) == (self.tokens is None):
            raise ValueError("give exactly one of requests or tokens")


# A budget's counter holds at most BUDGET_MAX of its unit (cost counts in micro-USD).
BudgetAmount = Annotated[int, Meta(ge=1, le=BUDGET_MAX)]
BudgetUsd = Annotated[float, Meta(ge=0.000001, le=BUDGET_MAX // 1_000_000)]


class Budget(_Strict, kw_only=True):
    """A cap per UTC day or month, or in all: give exactly one of `requests`, `tokens` or
    `cost_usd`."""

    requests: Annotated[BudgetAmount | None, Meta(description="the amount, in requests")] = None
    tokens: Annotated[BudgetAmount | None, Meta(description="the amount, in tokens")] = None
    cost_usd: Annotated[
        BudgetUsd | None, Meta(description="the amount, in USD at the [price table](observability.md#cost)")
    ] = None
    per: Annotated[
        Literal["day", "month", "lifetime"],
        Meta(description="`day` or `month` (UTC calendar periods), or `lifetime` (never resets)"),
    ] = "day"

    def __post_init__(self) -> None:
        if sum(amount is not None for amount in (self.requests, self.tokens, self.cost_usd)) != 1:
            raise ValueError("give exactly one of requests, tokens or cost_usd")

    @property
    def kind(self) -> str:
        return "requests" if self.requests is not None else "tokens" if self.tokens is not None else "cost"

    @property
    def amount(self) -> int:
        """In the budget's unit: requests, tokens or micro-USD."""
        if self.cost_usd is not None:
            return round(self.cost_usd * 1_000_000)
        return self.requests if self.requests is not None else self.tokens or 0


class UpstreamKey(_Strict, kw_only=True):
    """One key of a provider. More can be added at runtime
    ([key pools](key-pools.md#adding-rotating-and-removing-keys-at-runtime))."""

    id: Annotated[Name, Meta(description="a label shown in logs, unique within the provider")]
    value: Annotated[
        Secret, Meta(extra=SECRET, description="the secret, normally `${ENV_VAR}`; never logged or shown")
    ]
    limits: Annotated[
        list[Limit] | None, Meta(description="this key's own limits, replacing the provider's `key_limits`")
    ] = None

    def __repr__(self) -> str:
        # The secret never appears in a repr, so it cannot leak through a log or traceback.
        return f"UpstreamKey(id={self.id!r}, value='***')"


BaseUrl = Annotated[
    Url,
    Meta(
        description="where the API is, as the provider's own SDK takes it: `https://api.openai.com/v1` "
        "(aigw appends `/chat/completions` and `/embeddings`), `https://api.anthropic.com`, "
        "`https://generativelanguage.googleapis.com`, `https://RESOURCE.openai.azure.com`. "
        "Required for every type but `mock`"
    ),
]


class ProviderConfig(_Strict, kw_only=True, tag_field="type"):
    """A provider is an upstream API and its pool of keys. Its `type` picks one of the registered
    provider types below; a type's own options go in a section named after it."""

    name: Annotated[Name, Meta(description="unique name deployments refer to")]
    base_url: BaseUrl = ""
    keys: Annotated[list[UpstreamKey], Meta(min_length=1, description="the keys aigw spreads requests over")]
    key_limits: Annotated[
        list[Limit],
        Meta(
            description="limits each key of this provider without limits of its own keeps to (keys "
            "added at runtime included), for providers that send no rate-limit headers: "
            "`[{requests: 60, per: minute}, {tokens: 1000000, per: day}]`. aigw counts them "
            "node-wide and never sends a key a request its limits cannot take; when no key can, the "
            "caller gets 429 with the time one has room. A `per: day` limit is a rate (GCRA: "
            "`burst` at once, refilling continuously), not a calendar-day quota"
        ),
    ] = msgspec.field(default_factory=list)
    headers: Annotated[
        dict[HeaderName, SingleLine],
        Meta(extra=SECRET, description="extra headers sent upstream, e.g. `OpenAI-Organization`"),
    ] = msgspec.field(default_factory=dict)
    connect_timeout_s: Annotated[
        Seconds,
        Meta(description="longest a new connection may take: TCP, the proxy's tunnel and TLS together"),
    ] = 5.0
    proxy: Annotated[
        ProxyUrl | None,
        Meta(
            description="the HTTP proxy connections go through, as CONNECT tunnels: "
            "`http://[user:password@]host:port` (`${ENV}` for the password), or `direct` for none. "
            "Unset: `HTTPS_PROXY` / `HTTP_PROXY` from the environment (either case), except for hosts "
            "`NO_PROXY` names ([egress](operations.md#egress))",
        ),
    ] = None
    ca_bundle: Annotated[
        str,
        Meta(
            description="PEM file of the CA certificates the provider's TLS certificate must chain to, "
            "instead of the system's (a private CA, a TLS-inspecting proxy's); relative to the config "
            "file"
        ),
    ] = ""
    client_cert: Annotated[
        str,
        Meta(
            description="PEM file of the client certificate aigw presents (mutual TLS), with its chain; "
            "relative to the config file"
        ),
    ] = ""
    client_key: Annotated[
        str,
        Meta(description="PEM file of `client_cert`'s private key, unencrypted (empty: in `client_cert`)"),
    ] = ""
    dns_ttl_s: Annotated[
        NonNegative,
        Meta(
            description="how long the addresses a provider's name (or its proxy's) resolved to are "
            "reused for new connections; `0` resolves for every new connection"
        ),
    ] = 60.0
    timeout_s: Annotated[
        Seconds,
        Meta(
            description="longest wait for the next byte from the provider: exceeded before the "
            "response starts → 504, mid-stream → the stream ends with an error event. The response "
            "head must be whole this long after the request, and a non-streamed answer this long "
            "after its headers, however their bytes trickle in (→ 504)"
        ),
    ] = 600.0
    max_response_bytes: Annotated[
        int,
        Meta(
            ge=65536,
            description="longest non-streamed answer read from the provider (a completion, an embeddings "
            "list, an error page); a longer one is dropped and answered 502 `upstream_bad_response`. "
            "Streams are relayed as they come and need no such bound",
        ),
    ] = 128 * 1024 * 1024
    max_connections: Annotated[
        Count,
        Meta(
            description="keep-alive connections each worker keeps at most to this provider; requests "
            "past it wait for one to be free"
        ),
    ] = 256
    limiter: Annotated[
        Literal["continuous", "fixed_window"] | None,
        Meta(
            description="how the provider's rate limits refill: `continuous` (a bucket refilling "
            "steadily; its reset is when it is full again, long after the next request fits) or "
            "`fixed_window` (all of it back when the window ends). Unset: the type's own, "
            "`fixed_window` for `gemini` and `continuous` for every other "
            "([key pools](key-pools.md#the-limiter-model)); a `mock` provider limits its keys the same way"
        ),
    ] = None
    probe_interval_s: Annotated[
        Seconds, Meta(description="how often a key that ran out of quota is probed (the smallest completion)")
    ] = 30.0
    invalid_probe_interval_s: Annotated[
        Seconds, Meta(description="how often a key the provider refused (401/403) is probed (a model list)")
    ] = 300.0

    def __post_init__(self) -> None:
        if self.client_key and not self.client_cert:
            raise ValueError("client_key needs client_cert")

    def egress(self) -> Egress:
        """How the upstream client reaches this provider."""
        return Egress(
            proxy=self.proxy,
            ca_bundle=self.ca_bundle,
            client_cert=self.client_cert,
            client_key=self.client_key,
            connect_timeout_s=self.connect_timeout_s,
            dns_ttl_s=self.dns_ttl_s,
            max_connections=self.max_connections,
        )

    @property
    def type(self) -> str:
        """The registered type this provider is (gateway/providers/registry.py)."""
        return cast(str, self.__struct_config__.tag)

    @property
    def options(self) -> Any:
        """The type's own section (`anthropic:` …), None for a type without one."""
        return getattr(self, self.type, None)


def _provider_type(name: str, registered: ProviderType) -> type[ProviderConfig]:
    """The `providers[]` variant for one registered type: its tag, its options section, and
    whether it needs a base_url."""
    if name in ProviderConfig.__struct_fields__:
        raise ValueError(f"provider type {name!r} would hide the field of that name")
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    if registered.needs_base_url:
        fields.append(("base_url", BaseUrl))
    if registered.options:
        options = load(registered.options)
        fields.append((name, options, msgspec.field(default_factory=options)))
    title = "".join(part.title() for part in name.split("_"))
    variant = msgspec.defstruct(
        f"{title}Provider", fields, bases=(ProviderConfig,), tag=name, kw_only=True, module=__name__
    )
    return cast(type[ProviderConfig], variant)


# One `providers[]` variant per registered type, told apart by `type` (a tagged union).
PROVIDER_TYPES: dict[str, type[ProviderConfig]] = {
    name: _provider_type(name, registered) for name, registered in REGISTRY.items()
}
if TYPE_CHECKING:
    AnyProvider = ProviderConfig
else:
    AnyProvider = Union[tuple(PROVIDER_TYPES.values())]  # noqa: UP007


class Deployment(_Strict, kw_only=True):
    """Where a model group's requests can go: a provider and the model to ask it for."""

    provider: Annotated[str, Meta(description="the name of a provider")]
    model: Annotated[
        str,
        Meta(description="the model name sent upstream (for Azure: the deployment); empty: the group's name"),
    ] = ""
    priority: Annotated[
        int, Meta(description="lower tiers serve first; a higher tier only when no key of a lower one can")
    ] = 0
    weight: Annotated[Count, Meta(description="share of requests under the `weighted` strategy")] = 1


class ModelGroup(_Strict, kw_only=True):
    """A public model name callers use, and the deployments that serve it."""

    name: Annotated[Name, Meta(description="the name in the caller's `model` field, unique")]
    deployments: Annotated[
        list[Deployment], Meta(min_length=1, description="the providers and models that serve this group")
    ]
    aliases: Annotated[
        list[str],
        Meta(
            description="other names callers may use for this group: same keys, limits and "
            "permissions; listed by `GET /v1/models`"
        ),
    ] = msgspec.field(default_factory=list)
    strategy: Annotated[
        Literal["headroom", "round-robin", "weighted"],
        Meta(
            description="how a key is picked within a priority tier: `headroom` (most capacity left, as "
            "providers report it), `round-robin` (in turn), or `weighted` (by deployment weight) "
            "([key pools](key-pools.md))"
        ),
    ] = "headroom"
    max_attempts: Annotated[
        Count,
        Meta(description="keys tried per request (fallbacks included) before the last failure is answered"),
    ] = 3
    fallbacks: Annotated[
        list[str],
        Meta(
            description="other model groups whose keys serve this group's requests, in order, when none "
            "of its own can (any provider)"
        ),
    ] = msgspec.field(default_factory=list)
    max_wait_s: Annotated[
        NonNegative,
        Meta(
            description="queue mode: wait up to this long for a key to recover instead of answering 429 "
            "(`0`: answer at once)"
        ),
    ] = 0.0
    max_queue: Annotated[
        int,
        Meta(ge=0, description="requests one worker lets wait at once in queue mode; past it, 429 at once"),
    ] = 1000
    clamp_params: Annotated[
        bool,
        Meta(
            description="a caller's parameter outside the range the target model takes (temperature, "
            "top_p, max_tokens…) is clamped to it and reported in `x-aigw-clamped-params`, instead "
            "of refused with a 400 naming the range ([providers](providers.md#api-versions-and-parameters))"
        ),
    ] = False
    limits: Annotated[
        list[Limit] | None, Meta(description="rate limits every request to this model group is charged to")
    ] = None
    capture: Annotated[
        CaptureConfig | None,
        Meta(description="body capture for this group's calls, replacing `calllog.capture`"),
    ] = None


class AppConfig(_Strict, kw_only=True):
    """An app of a tenant: what its consumer keys may call."""

    name: Annotated[Name, Meta(description="app name, unique within the tenant")]
    models: Annotated[
        list[str],
        Meta(description="model groups the app may call; `*` is all. `GET /v1/models` lists exactly these"),
    ] = msgspec.field(default_factory=lambda: ["*"])
    limits: Annotated[list[Limit] | None, Meta(description="rate limits of the app")] = None
    budgets: Annotated[list[Budget] | None, Meta(description="budgets of the app")] = None


class TenantConfig(_Strict, kw_only=True):
    """A tenant (a team) and its apps."""

    name: Annotated[Name, Meta(description="unique tenant name")]
    apps: Annotated[list[AppConfig], Meta(description="the tenant's apps")] = msgspec.field(
        default_factory=list
    )
    limits: Annotated[
        list[Limit] | None, Meta(description="rate limits of the tenant: its apps together")
    ] = None
    budgets: Annotated[list[Budget] | None, Meta(description="budgets of the tenant: its apps together")] = (
        None
    )


class EventsConfig(_Strict, kw_only=True):
    """Key-health and pool events ([key pools](key-pools.md#events))."""

    webhooks: Annotated[
        list[Url],
        Meta(description="URLs that receive every key-health and pool event as a JSON POST (retried)"),
    ] = msgspec.field(default_factory=list)
    pool_low_headroom: Annotated[
        float,
        Meta(
            ge=0,
            le=1,
            description="a model group's pool is reported low (`pool_low`, then `pool_recovered`) when "
            "the mean share of capacity its keys have left falls under this; `0` turns the event off",
        ),
    ] = 0.1


class Config(_Strict, kw_only=True):
    """The top level of the file: each key is a section, described below."""

    version: Annotated[Literal[1], Meta(description="the format's version")] = 1
    server: Annotated[ServerConfig, Meta(description="listeners and workers")] = msgspec.field(
        default_factory=ServerConfig
    )
    store: Annotated[StoreConfig, Meta(extra=RESTART, description="the SQLite store")] = msgspec.field(
        default_factory=StoreConfig
    )
    providers: Annotated[list[AnyProvider], Meta(min_length=1, description="upstream APIs and their keys")]
    model_groups: Annotated[list[ModelGroup], Meta(description="the model names callers use")]
    tenants: Annotated[
        list[TenantConfig],
        Meta(description="tenants and apps, created (or updated) in the store at every start"),
    ] = msgspec.field(default_factory=list)
    calllog: Annotated[CallLogConfig, Meta(description="call records and their retention")] = msgspec.field(
        default_factory=CallLogConfig
    )
    metrics: Annotated[MetricsConfig, Meta(extra=RESTART, description="Prometheus metrics")] = msgspec.field(
        default_factory=MetricsConfig
    )
    pricing: Annotated[PricingConfig, Meta(description="prices calls are charged at")] = msgspec.field(
        default_factory=PricingConfig
    )
    events: Annotated[EventsConfig, Meta(description="key-health and pool events")] = msgspec.field(
        default_factory=EventsConfig
    )
    cluster: Annotated[
        ClusterConfig,
        Meta(extra=RESTART, description="state shared with the other nodes of a cluster, through Redis"),
    ] = msgspec.field(default_factory=ClusterConfig)
    logging: Annotated[LoggingConfig, Meta(description="log lines and the access log")] = msgspec.field(
        default_factory=LoggingConfig
    )
    tracing: Annotated[TracingConfig, Meta(description="OpenTelemetry traces")] = msgspec.field(
        default_factory=TracingConfig
    )
