"""The shape of the analytics rollups, shared by every call-log backend and the analytics queries.

A rollup row sums the calls of one time bucket (minute, hour or day, UTC-aligned) with the same
dimensions. Latency is kept as a small fixed-bucket histogram, so percentiles over any set of rows
are the percentiles of their summed histograms (within a bucket's width).
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Literal

MINUTE, HOUR, DAY = 60, 3600, 86400
GRAINS: dict[str, int] = {"minute": MINUTE, "hour": HOUR, "day": DAY}

# Every dimension a rollup row is keyed by, in key order.
DIMENSIONS: tuple[str, ...] = (
    "tenant",
    "app",
    "key_id",
    "model",
    "provider",
    "deployment",
    "upstream_key",
    "status",
)
Dimension = Literal["tenant", "app", "key_id", "model", "provider", "deployment", "upstream_key", "status"]

# Upper bounds (ms, inclusive) of the latency histogram's buckets; a last bucket takes the rest.
LATENCY_BOUNDS_MS: tuple[float, ...] = (
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
)  # fmt: skip
LATENCY_BUCKETS = len(LATENCY_BOUNDS_MS) + 1
HISTOGRAM_COLUMNS: tuple[str, ...] = tuple(f"h{i:02d}" for i in range(LATENCY_BUCKETS))

# Summed per row, besides the histogram.
MEASURES: tuple[str, ...] = (
    "calls",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cost",
    "latency_ms_sum",
    "upstream_ms_sum",
)


def latency_bucket(latency_ms: float) -> int:
    """Index of the histogram bucket a latency falls in (bounds are inclusive, like Prometheus)."""
    return bisect_left(LATENCY_BOUNDS_MS, latency_ms)


def bucket_start(ts: float, grain: int) -> int:
    """Start of the bucket `ts` falls in. Hours and days are derived from the minute, exactly as
    the SQL rollup computes them, so every grain agrees on a timestamp a rounding error away from
    a boundary."""
    minute = int(ts / MINUTE) * MINUTE
    return minute // grain * grain


def is_error(status: int) -> bool:
    return status >= 400
