"""The `calllog:`, `metrics:`, `pricing:`, `logging:` and `tracing:` sections (docs/observability.md
and docs/operations.md tell how they work).

They live here, not beside the code they configure, so the config stays a layer every other one
may read without reaching up into the call log or the metrics.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from .values import RESTART, Count, NonNegative, Seconds

# JSON field names whose values are secrets wherever they appear (compared case-insensitively).
DEFAULT_REDACT = [
    "api_key",
    "apikey",
    "api-key",
    "x-api-key",
    "authorization",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "private_key",
]


class _Section(msgspec.Struct, forbid_unknown_fields=True):
    pass


class CaptureConfig(_Section, kw_only=True):
    """Request and response bodies kept with each call record; off by default
    ([body capture](observability.md#body-capture))."""

    enabled: Annotated[bool, Meta(description="keep the request and response bodies with each record")] = (
        False
    )
    max_bytes: Annotated[
        int,
        Meta(
            ge=0,
            description="each body is cut to this many bytes (on a character boundary) after "
            "redaction, ending `…[N more bytes]`",
        ),
    ] = 4096
    redact: Annotated[
        list[str],
        Meta(
            description='JSON fields, at any depth and in any case, whose values become `"[REDACTED]"`; '
            "a list here replaces the default one"
        ),
    ] = msgspec.field(default_factory=lambda: list(DEFAULT_REDACT))


class Retention(_Section, kw_only=True):
    """Days each kind of row is kept (`0` keeps it forever). The node's supervisor prunes in chunks,
    so writers never wait long; analytics over ranges older than the minute retention use hour or
    day rows."""

    calls_days: Annotated[NonNegative, Meta(description="raw call records")] = 14
    minute_days: Annotated[NonNegative, Meta(description="minute rollups")] = 2
    hour_days: Annotated[NonNegative, Meta(description="hour rollups")] = 90
    day_days: Annotated[
        NonNegative,
        Meta(description="day rollups; also how far back a `lifetime` budget remembers across restarts"),
    ] = 800
    interval_s: Annotated[Seconds, Meta(description="how often the node prunes")] = 300


class CallLogConfig(_Section, kw_only=True):
    """One record per request, buffered per worker and written in batches
    ([observability](observability.md))."""

    enabled: Annotated[
        bool,
        Meta(
            extra=RESTART,
            description="record every call; `false` keeps no records, so analytics, `aigw logs` and "
            "budgets counted again at a restart have none to read",
        ),
    ] = True
    buffer_size: Annotated[
        Count,
        Meta(
            extra=RESTART,
            description="records buffered per worker; past this they are dropped and counted "
            "(`aigw_calllog_dropped_total`)",
        ),
    ] = 10_000
    flush_interval_s: Annotated[
        Seconds,
        Meta(
            extra=RESTART, description="the longest a record waits in memory: what a crashed worker can lose"
        ),
    ] = 1.0
    batch_size: Annotated[
        Count, Meta(extra=RESTART, description="write at once when this many records are waiting")
    ] = 500
    spool_dir: Annotated[
        str,
        Meta(
            extra=RESTART,
            description="with the PostgreSQL store: where each worker journals its records on local "
            "disk before the caller gets its answer, until the store has them (an outage, a crash: "
            "none lost, none twice). Empty: `$AIGW_HOME/spool`, or `./var/spool` relative to the "
            "working directory",
        ),
    ] = ""
    spool_max_mb: Annotated[
        Count,
        Meta(
            extra=RESTART,
            description="the most each worker's journal may hold; past it, records are dropped and "
            'counted (`aigw_calllog_dropped_total{reason="spool_full"}`)',
        ),
    ] = 512
    retention: Annotated[Retention, Meta(extra=RESTART, description="how long rows are kept")] = (
        msgspec.field(default_factory=Retention)
    )
    capture: Annotated[
        CaptureConfig,
        Meta(description="body capture for every model group; a group's own `capture` replaces it"),
    ] = msgspec.field(default_factory=CaptureConfig)


class ModelPrice(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """USD per 1M tokens of one model."""

    input: Annotated[NonNegative, Meta(description="per 1M prompt tokens (cached ones included)")]
    output: Annotated[NonNegative, Meta(description="per 1M completion tokens")] = 0.0
    cached_input: Annotated[
        NonNegative | None,
        Meta(description="per 1M prompt tokens read from the provider's cache (none: `input`)"),
    ] = None


class PricingConfig(_Section, kw_only=True):
    """The price table calls are charged at ([cost](observability.md#cost))."""

    models: Annotated[
        dict[str, ModelPrice],
        Meta(
            description="prices by model name, each replacing a shipped one of that name; a dated "
            "snapshot (`gpt-4o-2024-08-06`) uses its model's"
        ),
    ] = msgspec.field(default_factory=dict)
    defaults: Annotated[
        bool,
        Meta(description="`false`: only the models listed here have a price (the shipped ones are ignored)"),
    ] = True


class MetricsConfig(_Section, kw_only=True):
    """Prometheus metrics at the admin listener's `/metrics`
    ([observability](observability.md#prometheus-metrics))."""

    enabled: Annotated[bool, Meta(description="count metrics in each worker and publish them")] = True
    flush_interval_s: Annotated[
        Seconds,
        Meta(description="how often each worker publishes its counts: how far `/metrics` may lag"),
    ] = 1.0
    max_model_labels: Annotated[
        Count,
        Meta(description="distinct model names used as label values per worker; more count as `other`"),
    ] = 512


class LoggingConfig(_Section, kw_only=True):
    """aigw's own log lines (the supervisor's and every worker's, on stderr) and the access log (one
    line per request, on stdout) ([operations](operations.md#logging))."""

    format: Annotated[
        Literal["text", "json"],
        Meta(
            description="`text`: one readable line each; `json`: one JSON object per line, for Loki, "
            "Elasticsearch or CloudWatch (both the log and the access log)"
        ),
    ] = "text"
    level: Annotated[
        Literal["debug", "info", "warning", "error"], Meta(description="the least severe log line written")
    ] = "info"
    access_log: Annotated[
        bool | Literal["on", "off", "errors"],
        Meta(
            title="`on`, `off` or `errors`",
            description="`on`: a line for every request; `errors`: only for requests answered with an "
            "error (status 400 and above) or whose client left; `off`: none (the call log still "
            "records every request)",
        ),
    ] = "off"
    access_log_buffer: Annotated[
        Count,
        Meta(
            description="access-log lines each worker holds while its writer catches up; past it a "
            "line is dropped and counted in `aigw_access_log_dropped_total`, never blocking a request"
        ),
    ] = 10_000

    @property
    def access(self) -> str:
        """`on`, `off` or `errors` (YAML reads a bare on/off as true/false)."""
        if isinstance(self.access_log, bool):
            return "on" if self.access_log else "off"
        return self.access_log


class TracingConfig(_Section, kw_only=True):
    """OpenTelemetry traces, exported over OTLP/HTTP: a span per request and per upstream attempt
    ([operations](operations.md#tracing)). Needs the `otel` extra (`pip install 'aigw[otel]'`);
    off, nothing of OpenTelemetry is loaded."""

    otlp_endpoint: Annotated[
        str,
        Meta(
            extra=RESTART,
            description="where spans go: an OTLP/HTTP traces URL (`http://collector:4318/v1/traces`); "
            "empty: tracing off",
        ),
    ] = ""
    sample_ratio: Annotated[
        float,
        Meta(
            extra=RESTART,
            ge=0,
            le=1,
            description="share of traces started here that are recorded; a caller's `traceparent` "
            "decides for the traces it started (sampled or not)",
        ),
    ] = 1.0
    service_name: Annotated[
        str, Meta(extra=RESTART, description="the `service.name` of the spans' resource")
    ] = "aigw"
