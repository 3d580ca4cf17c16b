"""Analytics over the rollups: totals, time series, top-N, latency percentiles, error rates,
tokens and cost. Answers are at the rollup's resolution: a time range covers whole buckets."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal, get_args

import msgspec

from ..calllog.rollup import DAY, GRAINS, HOUR, LATENCY_BUCKETS, MINUTE, Dimension, bucket_start
from ..calllog.store import Aggregate, CallFilter, CallLog, Retention
from .percentiles import percentile

Group = dict[str, str | int]


class Stats(msgspec.Struct, kw_only=True):
    """Totals of a set of calls. Errors are statuses >= 400. Latencies in ms, from histograms."""

    calls: int = 0
    errors: int = 0
    error_rate: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    total_tokens: int = 0
    cost: float = 0.0
    latency_ms_avg: float | None = None
    latency_ms_p50: float | None = None
    latency_ms_p90: float | None = None
    latency_ms_p95: float | None = None
    latency_ms_p99: float | None = None


class GroupStats(Stats, kw_only=True):
    group: Group


class SeriesPoint(Stats, kw_only=True):
    bucket: int  # start of the bucket, Unix seconds


class SeriesLine(msgspec.Struct, kw_only=True):
    group: Group
    points: list[SeriesPoint]


class Series(msgspec.Struct, kw_only=True):
    """One line per group (one line, group {}, when not grouped), every bucket present."""

    grain: int
    since: float
    until: float
    lines: list[SeriesLine]


class Summary(msgspec.Struct, kw_only=True):
    grain: int
    since: float | None
    until: float | None
    totals: Stats
    groups: list[GroupStats]


TopMetric = Literal[
    "calls",
    "errors",
    "error_rate",
    "cost",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms_avg",
    "latency_ms_p95",
    "latency_ms_p99",
]
TOP_METRICS: tuple[str, ...] = get_args(TopMetric)


class Top(msgspec.Struct, kw_only=True):
    metric: str
    by: list[str]
    rows: list[GroupStats]


class Percentiles(msgspec.Struct, kw_only=True):
    group: Group
    calls: int
    # "p50" → ms, per quantile asked.
    quantiles: dict[str, float | None]


def choose_grain(since: float | None, until: float | None, retention: Retention | None = None) -> int:
    """The finest grain that keeps a series short and whose rollups are still kept for `since`."""
    now = time.time()
    retention = retention or Retention()
    until = now if until is None else until
    since = until - DAY if since is None else since
    span, age = until - since, now - since
    if span <= 6 * HOUR and (retention.minute_days == 0 or age <= retention.minute_days * DAY):
        return MINUTE
    if span <= 8 * DAY and (retention.hour_days == 0 or age <= retention.hour_days * DAY):
        return HOUR
    return DAY


def stats(agg: Aggregate | None) -> Stats:
    s = Stats()
    if agg is not None:
        _fill(s, agg)
    return s


def summary(
    log: CallLog, where: CallFilter, group_by: Sequence[Dimension] = (), grain: int | None = None
) -> Summary:
    """Totals over the range, and per group when `group_by` names dimensions."""
    grain = grain or choose_grain(where.since, where.until)
    totals = log.aggregate(grain, where)
    groups = log.aggregate(grain, where, group_by) if group_by else []
    return Summary(
        grain=grain,
        since=where.since,
        until=where.until,
        totals=stats(totals[0] if totals else None),
        groups=[_group_stats(group_by, a) for a in groups],
    )


def series(
    log: CallLog, where: CallFilter, group_by: Sequence[Dimension] = (), grain: int | None = None
) -> Series:
    """Per-bucket stats from `since` to `until` (default: the last day up to now), zeros filled in."""
    until = where.until if where.until is not None else time.time()
    since = where.since if where.since is not None else until - DAY
    grain = grain or choose_grain(since, until)
    where = msgspec.structs.replace(where, since=since, until=until)
    buckets = range(bucket_start(since, grain), int(until) + (1 if until % 1 else 0), grain)
    lines: dict[tuple[str | int, ...], dict[int, Aggregate]] = {}
    for agg in log.aggregate(grain, where, group_by, by_bucket=True):
        assert agg.bucket is not None
        lines.setdefault(agg.group, {})[agg.bucket] = agg
    if not group_by:
        lines.setdefault((), {})
    out = []
    for group, by_bucket in lines.items():
        points = []
        for b in buckets:
            point = SeriesPoint(bucket=b)
            found = by_bucket.get(b)
            if found is not None:
                _fill(point, found)
            points.append(point)
        out.append(SeriesLine(group=dict(zip(group_by, group, strict=True)), points=points))
    return Series(grain=grain, since=since, until=until, lines=out)


def top(
    log: CallLog,
    where: CallFilter,
    by: Sequence[Dimension],
    metric: str = "calls",
    n: int = 10,
    grain: int | None = None,
) -> Top:
    """The `n` groups with the highest `metric` (error rates, spend, slowest, busiest …)."""
    if metric not in TOP_METRICS:
        raise ValueError(f"invalid metric {metric!r}: use {', '.join(TOP_METRICS)}")
    if not by:
        raise ValueError("top needs at least one dimension to rank (by=model, …)")
    grain = grain or choose_grain(where.since, where.until)
    rows = [_group_stats(by, a) for a in log.aggregate(grain, where, by)]
    rows.sort(key=lambda r: (getattr(r, metric) or 0, r.calls), reverse=True)
    return Top(metric=metric, by=list(by), rows=rows[:n])


def percentiles(
    log: CallLog,
    where: CallFilter,
    quantiles: Sequence[float] = (0.5, 0.9, 0.95, 0.99),
    group_by: Sequence[Dimension] = (),
    grain: int | None = None,
) -> list[Percentiles]:
    for q in quantiles:
        if not 0 < q <= 1:
            raise ValueError(f"quantile {q} is not in (0, 1]")
    grain = grain or choose_grain(where.since, where.until)
    return [
        Percentiles(
            group=dict(zip(group_by, a.group, strict=True)),
            calls=a.calls,
            quantiles={_quantile_name(q): percentile(a.histogram, q) for q in quantiles},
        )
        for a in log.aggregate(grain, where, group_by)
    ]


def _quantile_name(q: float) -> str:
    return "p" + f"{q * 100:g}".replace(".", "_")


def _group_stats(group_by: Sequence[Dimension], agg: Aggregate) -> GroupStats:
    s = GroupStats(group=dict(zip(group_by, agg.group, strict=True)))
    _fill(s, agg)
    return s


def _fill(s: Stats, agg: Aggregate) -> None:
    s.calls = agg.calls
    s.errors = agg.errors
    s.error_rate = agg.errors / agg.calls if agg.calls else 0.0
    s.prompt_tokens = agg.prompt_tokens
    s.completion_tokens = agg.completion_tokens
    s.cached_tokens = agg.cached_tokens
    s.total_tokens = agg.prompt_tokens + agg.completion_tokens
    s.cost = agg.cost
    if agg.calls:
        s.latency_ms_avg = agg.latency_ms_sum / agg.calls
        hist = agg.histogram or [0] * LATENCY_BUCKETS
        s.latency_ms_p50 = percentile(hist, 0.5)
        s.latency_ms_p90 = percentile(hist, 0.9)
        s.latency_ms_p95 = percentile(hist, 0.95)
        s.latency_ms_p99 = percentile(hist, 0.99)


GRAIN_NAMES = {seconds: name for name, seconds in GRAINS.items()}
