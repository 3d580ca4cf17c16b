"""Percentiles from the rollups' fixed-bucket latency histograms."""

from __future__ import annotations

from collections.abc import Sequence

from ..calllog.rollup import LATENCY_BOUNDS_MS


def percentile(histogram: Sequence[int], q: float) -> float | None:
    """The q-quantile (0 < q <= 1) in ms, interpolated linearly inside its bucket (as Prometheus'
    histogram_quantile does); accurate to a bucket's width. A quantile in the open last bucket
    answers that bucket's lower bound. None for an empty histogram."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = q * total
    seen = 0.0
    for i, count in enumerate(histogram):
        if count and seen + count >= rank:
            lower = LATENCY_BOUNDS_MS[i - 1] if i > 0 else 0.0
            if i >= len(LATENCY_BOUNDS_MS):
                return float(lower)
            upper = LATENCY_BOUNDS_MS[i]
            return float(lower + (upper - lower) * max(rank - seen, 0.0) / count)
        seen += count
    return float(LATENCY_BOUNDS_MS[-1])
