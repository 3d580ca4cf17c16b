"""Every metric aigw exports: name, type, labels, help and buckets, in one place.

Units follow Prometheus conventions: seconds, USD, `_total` for counters.
"""

from __future__ import annotations

from typing import Literal, NamedTuple


class Metric(NamedTuple):
    name: str  # the family name (a counter's samples add `_total`)
    kind: Literal["counter", "histogram", "gauge"]
    labels: tuple[str, ...]
    help: str
    buckets: tuple[float, ...] = ()


# Request latency, seconds: from a few ms (rejections) to long streams.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# What aigw adds on top of the upstream: tens of microseconds when healthy.
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)

REQUESTS = Metric(
    "aigw_requests", "counter", ("route", "model", "provider", "status"), "Requests answered, by HTTP status"
)
REQUEST_DURATION = Metric(
    "aigw_request_duration_seconds",
    "histogram",
    ("route", "model"),
    "Time from request start to the last response byte",
    DURATION_BUCKETS,
)
UPSTREAM_DURATION = Metric(
    "aigw_upstream_duration_seconds",
    "histogram",
    ("provider", "model"),
    "Time spent on upstream calls of a request, every attempt included",
    DURATION_BUCKETS,
)
TIME_TO_FIRST_BYTE = Metric(
    "aigw_time_to_first_byte_seconds",
    "histogram",
    ("route", "model"),
    "Time from request start to the first response byte sent, streamed responses",
    DURATION_BUCKETS,
)
GATEWAY_OVERHEAD = Metric(
    "aigw_gateway_overhead_seconds",
    "histogram",
    ("route",),
    "Request duration minus upstream time, requests that reached an upstream",
    OVERHEAD_BUCKETS,
)
TOKENS = Metric(
    "aigw_tokens", "counter", ("direction", "model", "provider"), "Tokens by direction: input, output, cached"
)
COST = Metric(
    "aigw_cost_usd", "counter", ("model", "provider"), "Cost of answered calls at the price table, USD"
)
LIMITER_REJECTIONS = Metric(
    "aigw_limiter_rejections",
    "counter",
    ("scope",),
    "Requests refused by a limit: tenant, app, key, model, service, or pool (no upstream key could serve)",
)
UPSTREAM_RETRIES = Metric(
    "aigw_upstream_retries",
    "counter",
    ("provider", "outcome"),
    "Upstream attempts that failed and were retried elsewhere, by the failed attempt's outcome",
)
CALLLOG_DROPPED = Metric(
    "aigw_calllog_dropped",
    "counter",
    ("reason",),
    "Call records lost: buffer_full, spool_full, write_error, closed",
)
ACCESS_LOG_DROPPED = Metric(
    "aigw_access_log_dropped",
    "counter",
    ("reason",),
    "Access-log lines lost: buffer_full (the writer fell behind), write_error (stdout refused them)",
)
# Gauges a worker sets; summed over the node's live workers.
CALLLOG_BUFFERED = Metric("aigw_calllog_buffered", "gauge", (), "Call records waiting to be written")
QUEUE_DEPTH = Metric("aigw_queue_depth", "gauge", ("model",), "Requests waiting for upstream capacity")
IN_FLIGHT = Metric("aigw_in_flight_requests", "gauge", (), "Requests being handled")

WORKER_METRICS = (
    REQUESTS,
    REQUEST_DURATION,
    UPSTREAM_DURATION,
    TIME_TO_FIRST_BYTE,
    GATEWAY_OVERHEAD,
    TOKENS,
    COST,
    LIMITER_REJECTIONS,
    UPSTREAM_RETRIES,
    CALLLOG_DROPPED,
    ACCESS_LOG_DROPPED,
    CALLLOG_BUFFERED,
    QUEUE_DEPTH,
    IN_FLIGHT,
)
GAUGES = {m.name: m for m in WORKER_METRICS if m.kind == "gauge"}

# Label values known before anything happens: /metrics shows these series at zero from the start,
# so an alert on them has data (gateway/metrics/node.py). Providers and model groups come from
# the node's config.
LIMIT_SCOPES = ("tenant", "app", "key", "model", "service", "pool")
DROP_REASONS = ("buffer_full", "spool_full", "write_error", "closed")
ACCESS_DROP_REASONS = ("buffer_full", "write_error")
RETRY_OUTCOMES = (
    "rate_limited",
    "quota",
    "invalid",
    "server",
    "upstream_unreachable",
    "upstream_timeout",
    "upstream_bad_response",
)

# Node-level gauges, read from the shared region when scraped (gateway/metrics/node.py).
KEY_STATES = ("healthy", "cooling", "exhausted", "invalid", "disabled")
# Why a key is out of use (gateway/keypool/causes.py).
KEY_CAUSES = (
    "rate_limited",
    "server_errors",
    "unreachable",
    "timeout",
    "broken_connection",
    "quota",
    "invalid",
    "disabled",
)
