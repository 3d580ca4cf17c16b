"""One worker's metrics: counted in plain Python objects on the hot path, published to the node's
metrics directory every `flush_interval_s` in prometheus_client's multiprocess file format.

Why not prometheus_client's own multiprocess metric objects: each of their updates takes a lock
and writes an mmap (measured ~4 us per counter increment, ~8 us per histogram observation on the
dev machine), ~60 us per request for this set of metrics — most of a core's budget at 15k req/s.
Here `observe()` finds one accumulator per (route, model, provider, status) and adds into it;
the flush fans those out into the exported families and writes each series' running total.
The admin listener reads the files with prometheus_client's MultiProcessCollector, so the sum
across workers, and dead workers' counters, follow prometheus_client's rules.
A crashed worker loses at most one flush interval of its metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.utils import floatToGoString

from .. import native
from ..calllog.record import CallRecord
from . import names
from .names import Metric

log = logging.getLogger("aigw.metrics")

ENV = "AIGW_METRICS_DIR"
# Files are named <type>_aigw-<pid>.db: prometheus_client's naming (the collector reads the type
# and, for gauges, the process from it), apart from any file prometheus_client itself might write.
PROCESS_PREFIX = "aigw-"
# Error codes after which the requested model name is the caller's text, not a configured model:
# it must not become a label value (unbounded series).
_UNRESOLVED_MODEL = frozenset({"model_not_found", "invalid_api_key", "missing_api_key", "unknown_url"})
# Bucket bounds in ms, so the hot path compares the record's own numbers without dividing.
_DURATION_MS = tuple(b * 1000 for b in names.DURATION_BUCKETS)
_OVERHEAD_MS = tuple(b * 1000 for b in names.OVERHEAD_BUCKETS)

Labels = tuple[Any, ...]


def _histogram(bounds: tuple[float, ...]) -> list[float]:
    # A count per bucket (not cumulative: the collector accumulates), then the +Inf bucket, then
    # the sum (ms).
    return [0.0] * (len(bounds) + 2)


class _Series:
    """Everything counted for one (route, model, provider, status). The reference of the compiled
    `_native.Series` (tests/native/test_series.py holds them equal), used without the compiled
    core (gateway.native)."""

    __slots__ = (
        "_duration_ms",
        "_overhead_ms",
        "cached",
        "cost",
        "duration",
        "input",
        "output",
        "overhead",
        "requests",
        "ttfb",
        "upstream",
    )

    def __init__(self, duration_ms: tuple[float, ...], overhead_ms: tuple[float, ...]) -> None:
        self._duration_ms = duration_ms
        self._overhead_ms = overhead_ms
        self.requests = 0
        self.input = self.output = self.cached = 0
        self.cost = 0.0
        self.duration = _histogram(duration_ms)
        self.upstream = _histogram(duration_ms)
        self.ttfb = _histogram(duration_ms)
        self.overhead = _histogram(overhead_ms)

    def add(self, rec: CallRecord) -> None:
        self.requests += 1
        latency = rec.latency_ms
        h = self.duration
        h[bisect_left(self._duration_ms, latency)] += 1
        h[-1] += latency
        upstream = rec.upstream_ms
        if upstream is not None:
            h = self.upstream
            h[bisect_left(self._duration_ms, upstream)] += 1
            h[-1] += upstream
            overhead = latency - upstream if latency > upstream else 0.0
            h = self.overhead
            h[bisect_left(self._overhead_ms, overhead)] += 1
            h[-1] += overhead
        if rec.streamed and rec.ttfb_ms is not None:
            h = self.ttfb
            h[bisect_left(self._duration_ms, rec.ttfb_ms)] += 1
            h[-1] += rec.ttfb_ms
        self.input += rec.prompt_tokens
        self.output += rec.completion_tokens
        self.cached += rec.cached_tokens
        self.cost += rec.cost


# The compiled series (_native/series.pxi) counts the same in C.
Series: Any = _Series
if native.ENABLED:
    from .._native import Series


class WorkerMetrics:
    """One per process: its files are named after the process id."""

    def __init__(self, directory: str | None, *, flush_interval_s: float = 1.0, max_label_values: int = 512):
        # None: count but publish nothing (metrics off, or a process outside a node).
        self.directory = directory
        self._interval = flush_interval_s
        self._series: dict[tuple[str, str, str, int], Any] = {}
        # Counters of events other than a request's end (rejections, retries, drops).
        self._counters: dict[str, dict[Labels, float]] = {
            m.name: {} for m in (names.LIMITER_REJECTIONS, names.UPSTREAM_RETRIES, names.CALLLOG_DROPPED)
        }
        self._gauges: dict[str, dict[Labels, float]] = {m: {} for m in names.GAUGES}
        self._gauge_sources: list[tuple[str, Labels, Callable[[], float]]] = []
        # Model names become label values; past this many distinct ones they are counted as "other".
        self._models: set[str] = set()
        self._max_models = max_label_values
        self._files: dict[str, MmapedDict] = {}
        self._keys: dict[tuple[str, str, Labels], str] = {}
        self._task: asyncio.Task[None] | None = None
        self._pid = os.getpid()

    @classmethod
    def from_env(cls, **kwargs: Any) -> WorkerMetrics:
        return cls(os.environ.get(ENV) or None, **kwargs)

    # -- the hot path --------------------------------------------------------------------------
    def observe(self, rec: CallRecord) -> None:
        """Count one finished request. Once per request; never raises."""
        try:
            model = rec.model
            if model not in self._models:
                model = self._new_model(rec)
            key = (rec.route, model, rec.provider, rec.status)
            s = self._series.get(key)
            if s is None:
                s = self._series[key] = Series(_DURATION_MS, _OVERHEAD_MS)
            s.add(rec)
            if rec.limit_scope:
                self.inc(names.LIMITER_REJECTIONS, (rec.limit_scope,))
            if len(rec.attempts) > 1:
                for a in rec.attempts[:-1]:
                    self.inc(names.UPSTREAM_RETRIES, (a.provider, a.outcome))
        except Exception:
            log.exception("metrics for request %s lost", getattr(rec, "request_id", "?"))

    def _new_model(self, rec: CallRecord) -> str:
        if rec.error_code in _UNRESOLVED_MODEL:
            return ""
        if len(self._models) >= self._max_models:
            return "other"
        self._models.add(rec.model)
        return rec.model

    # -- other updates (the request path's own events; gauges) ----------------------------------
    def inc(self, metric: Metric, labels: Labels = (), amount: float = 1) -> None:
        series = self._counters[metric.name]
        series[labels] = series.get(labels, 0) + amount

    def calllog_dropped(self, reason: str, n: int) -> None:
        """The Recorder's `on_drop` callback."""
        self.inc(names.CALLLOG_DROPPED, (reason,), n)

    def set_gauge(self, metric: Metric, value: float, labels: Labels = ()) -> None:
        self._gauges[metric.name][labels] = value

    def gauge_source(self, metric: Metric, read: Callable[[], float], labels: Labels = ()) -> None:
        """Read a gauge at every flush instead of setting it on the hot path (the recorder's
        buffered records; a model group's waiting room: `lambda: room.waiting`, (group,))."""
        self._gauge_sources.append((metric.name, labels, read))

    # -- publishing ----------------------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if self.directory is not None:
            self._task = (loop or asyncio.get_running_loop()).create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self.flush()

    def flush(self) -> None:
        """Write every series' current total to this process's files (memory writes: the files
        are mmapped, on the node's tmpfs directory)."""
        if self.directory is None:
            return
        try:
            if os.getpid() != self._pid:  # forked: never write into the parent's files
                self._close_files()
                self._pid = os.getpid()
            for name, labels, read in self._gauge_sources:
                self._gauges[name][labels] = float(read())
            counters, histograms = self._fan_out()
            out = self._file("counter")
            for metric, series in counters:
                for labels, value in series.items():
                    out.write_value(self._key(metric, metric.name + "_total", labels), float(value), 0.0)
            out = self._file("histogram")
            for metric, hseries in histograms:
                bounds = (*metric.buckets, float("inf"))
                for labels, counts in hseries.items():
                    out.write_value(self._key(metric, metric.name + "_sum", labels), counts[-1] / 1000, 0.0)
                    for bound, count in zip(bounds, counts, strict=False):
                        le = (*labels, floatToGoString(bound))
                        out.write_value(self._key(metric, metric.name + "_bucket", le), count, 0.0)
            out = self._file("gauge_livesum")
            for metric in names.GAUGES.values():
                for labels, value in self._gauges[metric.name].items():
                    out.write_value(self._key(metric, metric.name, labels), value, 0.0)
        except Exception:
            log.exception("could not publish metrics to %s", self.directory)

    def _fan_out(
        self,
    ) -> tuple[list[tuple[Metric, dict[Labels, float]]], list[tuple[Metric, dict[Labels, list[float]]]]]:
        """The exported families, each summed over the labels it does not carry."""
        requests: dict[Labels, float] = {}
        tokens: dict[Labels, float] = {}
        cost: dict[Labels, float] = {}
        duration: dict[Labels, list[float]] = {}
        upstream: dict[Labels, list[float]] = {}
        ttfb: dict[Labels, list[float]] = {}
        overhead: dict[Labels, list[float]] = {}
        for (route, model, provider, status), s in self._series.items():
            requests[(route, model, provider, status)] = s.requests
            for direction, n in (("input", s.input), ("output", s.output), ("cached", s.cached)):
                if n:
                    _add(tokens, (direction, model, provider), n)
            if s.cost:
                _add(cost, (model, provider), s.cost)
            _merge(duration, (route, model), s.duration)
            _merge(ttfb, (route, model), s.ttfb)
            _merge(upstream, (provider, model), s.upstream)
            _merge(overhead, (route,), s.overhead)
        counters = [
            (names.REQUESTS, requests),
            (names.TOKENS, tokens),
            (names.COST, cost),
            *((m, self._counters[m.name]) for m in (names.LIMITER_REJECTIONS, names.UPSTREAM_RETRIES)),
            (names.CALLLOG_DROPPED, self._counters[names.CALLLOG_DROPPED.name]),
        ]
        histograms = [
            (names.REQUEST_DURATION, duration),
            (names.UPSTREAM_DURATION, upstream),
            (names.TIME_TO_FIRST_BYTE, ttfb),
            (names.GATEWAY_OVERHEAD, overhead),
        ]
        return counters, histograms

    def close(self) -> None:
        """Publish a last time and release the files (graceful shutdown)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.flush()
        self._close_files()

    def _key(self, metric: Metric, sample: str, labels: Labels) -> str:
        cache_key = (metric.name, sample, labels)
        key = self._keys.get(cache_key)
        if key is None:
            label_names = list(metric.labels) + (["le"] if sample.endswith("_bucket") else [])
            key = mmap_key(metric.name, sample, label_names, [str(v) for v in labels], metric.help)
            self._keys[cache_key] = key
        return key

    def _file(self, prefix: str) -> MmapedDict:
        f = self._files.get(prefix)
        if f is None:
            assert self.directory is not None
            path = os.path.join(self.directory, f"{prefix}_{PROCESS_PREFIX}{self._pid}.db")
            f = self._files[prefix] = MmapedDict(path)
        return f

    def _close_files(self) -> None:
        for f in self._files.values():
            with contextlib.suppress(Exception):
                f.close()
        self._files.clear()


def _add(series: dict[Labels, float], labels: Labels, n: float) -> None:
    series[labels] = series.get(labels, 0) + n


def _merge(series: dict[Labels, list[float]], labels: Labels, counts: list[float]) -> None:
    if not any(counts):  # nothing observed (e.g. no streamed requests)
        return
    into = series.get(labels)
    if into is None:
        series[labels] = list(counts)
    else:
        for i, c in enumerate(counts):
            into[i] += c
