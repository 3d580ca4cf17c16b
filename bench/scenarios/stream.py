"""`stream`: many concurrent SSE streams (default 1,000; 64 chunks 20 ms apart from the mock
provider) through aigw, through nginx (the reference streaming proxy, same cores, same upstream)
and straight to the mock. Reports each proxy's added time to first byte, added inter-chunk gap
(p50/p99), CPU per chunk and RSS growth, its broken and truncated streams, and aigw against
nginx: CPU per chunk as a ratio, added gap and TTFB as differences.

Both ends of the load are C, one thread each, on the load cores: the client is bench/loadgen's
stream mode, the upstream bench/ssemock, which paces the Python mock's own stream for the
scenario's request (recorded at start). If together they keep the load cores busy, every gap
stretches, for both targets, and the report says so.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import aigw, nginx, ssemock
from ..aigw import Aigw
from ..console import log
from ..measure import MB, Target
from ..payloads import CHAT_PATH, STREAM_REQUEST
from ..procs import free_port
from ..procstat import TreeMonitor, cpu_seconds, rss_bytes, tree
from ..report import Panel, Report, Table, fmt_ms, fmt_number
from ..streamclient import allow_streams, run_streams
from . import RunContext, Scenario

LOAD_CORE_BUSY = 0.85  # above this share of the load cores, client-side delays are likely
LOAD_SIDE = {
    "client": "bench/loadgen stream mode (C, one thread, epoll)",
    "upstream": "bench/ssemock (C, one thread, epoll + timerfd) pacing gateway.mock's recorded stream",
    "nginx": "1 worker, proxy_buffering off, HTTP/1.1 keep-alive to the upstream, no gzip",
}
PROXIES = ("nginx", "aigw")  # each against direct; aigw against nginx too


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--streams", type=int, default=1000, help="concurrent streams (default 1000)")
    p.add_argument("--chunks", type=int, default=64, help="content chunks per stream (default 64)")
    p.add_argument("--chunk-interval-ms", type=float, default=20, help="mock's pacing (default 20)")
    p.add_argument(
        "--ramp", type=float, help="seconds over which streams start (default: one stream's length)"
    )
    p.add_argument("--workers", type=int, default=1, help="aigw worker processes (default 1)")


@dataclass
class StreamRun:
    target: str
    streams_completed: int
    events: int  # SSE events the client received, each one chunk of the answer
    errors: dict[str, int]
    ttfb_ms: dict[str, float]
    gap_ms: dict[str, float]
    cpu_s_per_1k_streams: float | None
    cpu_us_per_chunk: float | None
    rss_start_mb: float | None
    rss_peak_mb: float | None
    load_core_busy: float  # CPU of client + upstream over wall time, per load core
    client_cpu_share: float  # the client's part of that CPU

    @property
    def flags(self) -> list[str]:
        reasons = [f"{n} {kind} errors" for kind, n in self.errors.items() if n]
        if self.streams_completed == 0:
            reasons.append("no stream completed")
        return reasons


def _percentiles_ms(stats_hist: Any) -> dict[str, float]:
    return {k: v / 1e6 for k, v in stats_hist.percentiles((50, 90, 99, 99.9)).items()}


def measure(ctx: RunContext, target: Target, mock_pid: int, duration: float, streams: int) -> StreamRun:
    a = ctx.args
    ramp = a.ramp if a.ramp is not None else a.chunks * a.chunk_interval_ms / 1000
    monitor = TreeMonitor(target.root_pid).start() if target.root_pid else None
    mock_tree = tree(mock_pid)
    mock_cpu0 = cpu_seconds(mock_tree)
    wall0 = time.monotonic()
    try:
        stats = run_streams(
            target.url,
            STREAM_REQUEST.encode(),
            target.headers,
            streams=streams,
            duration_s=duration,
            ramp_s=ramp,
            chunks=a.chunks,
            cores=ctx.load_cores,
        )
    finally:
        if monitor is not None:
            monitor.stop()
    wall = time.monotonic() - wall0
    mock_cpu, client_cpu = cpu_seconds(mock_tree) - mock_cpu0, stats.cpu_s
    load_busy = (mock_cpu + client_cpu) / wall / len(ctx.load_cores_set)
    return StreamRun(
        target=target.name,
        streams_completed=stats.streams,
        events=stats.events,
        errors=dict(stats.errors),
        ttfb_ms=_percentiles_ms(stats.ttfb),
        gap_ms=_percentiles_ms(stats.gaps),
        cpu_s_per_1k_streams=monitor.cpu_s / stats.streams * 1000 if monitor and stats.streams else None,
        cpu_us_per_chunk=monitor.cpu_s / stats.events * 1e6 if monitor and stats.events else None,
        rss_start_mb=monitor.start_rss / MB if monitor else None,
        rss_peak_mb=monitor.peak_rss / MB if monitor else None,
        load_core_busy=load_busy,
        client_cpu_share=client_cpu / (mock_cpu + client_cpu) if mock_cpu + client_cpu else 0.0,
    )


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def streaming_aigw(
    ctx: RunContext, name: str, mock_url: str, cores: str, workers: int, engine: str = ""
) -> Aigw:
    """aigw in front of ssemock, with room for an upstream connection for every stream."""
    a = ctx.args
    return aigw.start(
        ctx.procs,
        ctx.run_dir / name,
        f"{mock_url}/v1",
        cores,
        workers,
        a.aigw_src,
        max_connections=a.streams + 64,  # every stream holds one upstream connection
        limits=not a.no_limits,
        engine=engine,
        name=name,
    )


def run(ctx: RunContext) -> Report:
    a = ctx.args
    allow_streams(a.streams)
    log(f"starting the SSE upstream ({a.chunks} chunks, {a.chunk_interval_ms:g} ms apart), nginx and aigw")
    mock_url, mock_child = ssemock.start(
        ctx.procs, ctx.load_cores, STREAM_REQUEST, a.chunks, a.chunk_interval_ms, ctx.run_dir, a.aigw_src
    )
    proxy_port, proxy_dir = free_port(), ctx.run_dir / "nginx-proxy"
    proxy = nginx.start(
        ctx.procs,
        "nginx-proxy",
        proxy_dir,
        # An idle upstream connection kept for every stream, as aigw's pool keeps them.
        nginx.proxy_config(
            proxy_dir, proxy_port, urlsplit(mock_url).port or 80, a.streams + 64, streaming=True
        ),
        proxy_port,
        ctx.aigw_cores,
    )
    gw = streaming_aigw(ctx, "aigw", mock_url, ctx.aigw_cores, a.workers)
    idle_rss_mb = {"nginx": rss_bytes(tree(proxy.pid)) / MB, "aigw": rss_bytes(tree(gw.child.pid)) / MB}
    json_headers = {"Content-Type": "application/json"}
    # nginx passes the caller's provider key on, as a plain proxy in front of the provider would.
    provider_headers = {**json_headers, "Authorization": f"Bearer {aigw.PROVIDER_KEY}"}
    targets = [
        Target("direct", f"{mock_url}{CHAT_PATH}", None, headers=provider_headers),
        Target("nginx", f"http://127.0.0.1:{proxy_port}{CHAT_PATH}", proxy.pid, headers=provider_headers),
        Target(
            "aigw",
            f"{gw.url}{CHAT_PATH}",
            gw.child.pid,
            headers={**json_headers, "Authorization": f"Bearer {gw.key}"},
        ),
    ]
    if a.warmup > 0:
        log(f"warming up each target: {min(a.streams, 50)} streams for {a.warmup:g}s")
        for target in targets:
            measure(ctx, target, mock_child.pid, a.warmup, min(a.streams, 50))
    runs: dict[str, list[StreamRun]] = {t.name: [] for t in targets}
    log(f"{a.streams} concurrent streams for {a.duration:g}s per run, {a.repeat} repeat(s)")
    for i in range(a.repeat):
        for target in targets:
            r = measure(ctx, target, mock_child.pid, a.duration, a.streams)
            runs[target.name].append(r)
            log(
                f"[{i + 1}/{a.repeat}] {target.name:6} {r.streams_completed:,} streams  "
                f"ttfb p99 {r.ttfb_ms['p99']:.2f} ms  "
                f"gap p50 {r.gap_ms['p50']:.2f} p99 {r.gap_ms['p99']:.2f} ms"
                f"  load core busy {r.load_core_busy:.0%} (client {r.client_cpu_share:.0%} of it)"
                + (f"  FLAGGED: {'; '.join(r.flags)}" if r.flags else "")
            )
    return build_report(ctx, runs, idle_rss_mb)


def _summary(rs: list[StreamRun]) -> dict[str, Any]:
    """The medians of one target's runs; its errors, by kind, summed over them."""
    errors = {kind: sum(r.errors.get(kind, 0) for r in rs) for kind in rs[0].errors}
    return {
        "streams_completed": _median([r.streams_completed for r in rs]),
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
        "ttfb_ms": {k: _median([r.ttfb_ms[k] for r in rs]) for k in rs[0].ttfb_ms},
        "gap_ms": {k: _median([r.gap_ms[k] for r in rs]) for k in rs[0].gap_ms},
        "cpu_s_per_1k_streams": _median([r.cpu_s_per_1k_streams for r in rs]),
        "cpu_us_per_chunk": _median([r.cpu_us_per_chunk for r in rs]),
        "rss_peak_mb": _median([r.rss_peak_mb for r in rs]),
        "load_core_busy": max(r.load_core_busy for r in rs),
    }


def _added(proxy: dict[str, Any], base: dict[str, Any], rss_growth_mb: float) -> dict[str, float]:
    """What a proxy adds to the upstream alone (its medians minus direct's)."""
    return {
        "ttfb_p50_ms": proxy["ttfb_ms"]["p50"] - base["ttfb_ms"]["p50"],
        "ttfb_p99_ms": proxy["ttfb_ms"]["p99"] - base["ttfb_ms"]["p99"],
        "gap_p50_ms": proxy["gap_ms"]["p50"] - base["gap_ms"]["p50"],
        "gap_p99_ms": proxy["gap_ms"]["p99"] - base["gap_ms"]["p99"],
        "rss_growth_mb": rss_growth_mb,
    }


def _over(value: float | None, reference: float | None) -> float | None:
    """value / reference; None when either is unknown or the reference is zero (nginx can use
    less CPU in a short run than /proc's 10 ms clock shows)."""
    return value / reference if value is not None and reference else None


def headline(med: dict[str, dict[str, Any]], added: dict[str, dict[str, float]]) -> dict[str, Any]:
    """aigw against nginx, same cores, same upstream, same run: CPU as ratios, time as differences."""
    gw, ref = med["aigw"], med["nginx"]
    return {
        "aigw_cpu_us_per_chunk": gw["cpu_us_per_chunk"],
        "nginx_cpu_us_per_chunk": ref["cpu_us_per_chunk"],
        "cpu_per_chunk_vs_nginx": _over(gw["cpu_us_per_chunk"], ref["cpu_us_per_chunk"]),
        "cpu_per_1k_streams_vs_nginx": _over(gw["cpu_s_per_1k_streams"], ref["cpu_s_per_1k_streams"]),
        **{
            f"added_{key.removesuffix('_ms')}_minus_nginx_ms": added["aigw"][key] - added["nginx"][key]
            for key in ("gap_p50_ms", "gap_p99_ms", "ttfb_p50_ms", "ttfb_p99_ms")
        },
        "failed_streams": {name: m["errors"] for name, m in med.items()},
    }


def build_report(ctx: RunContext, runs: dict[str, list[StreamRun]], idle_rss_mb: dict[str, float]) -> Report:
    a = ctx.args
    med = {name: _summary(rs) for name, rs in runs.items()}
    peak = {name: max((r.rss_peak_mb or 0) for r in runs[name]) for name in PROXIES}
    added = {name: _added(med[name], med["direct"], peak[name] - idle_rss_mb[name]) for name in PROXIES}
    head = headline(med, added)
    flags = [
        f"{name} run {i + 1}: {f}" for name, rs in runs.items() for i, r in enumerate(rs) for f in r.flags
    ]
    notes = [
        f"load side: the client is {LOAD_SIDE['client']}; the upstream is {LOAD_SIDE['upstream']}.",
        f"nginx: {LOAD_SIDE['nginx']}, on aigw's core(s).",
        *(
            f"{name} RSS: {idle_rss_mb[name]:.1f} MB idle after start, {peak[name]:.1f} MB peak under load."
            for name in PROXIES
        ),
    ]
    if head["cpu_per_chunk_vs_nginx"] is not None:
        notes.insert(
            0,
            f"aigw spends {head['cpu_per_chunk_vs_nginx']:.1f}x nginx's CPU per chunk; its added gap p99 is "
            f"{head['added_gap_p99_minus_nginx_ms']:+.1f} ms and its added TTFB p99 "
            f"{head['added_ttfb_p99_minus_nginx_ms']:+.1f} ms against nginx's, same core(s), same run.",
        )
    busy = max(m["load_core_busy"] for m in med.values())
    if busy > LOAD_CORE_BUSY:
        notes.append(
            f"the load core(s) were {busy:.0%} busy (client + upstream): gaps are stretched by the load side "
            "too, for every target; compare the added figures, not the absolute ones."
        )
    for name in PROXIES:
        if med[name]["gap_ms"]["p50"] < a.chunk_interval_ms / 2:
            notes.append(
                f"{name}'s gap p50 is {med[name]['gap_ms']['p50']:.1f} ms for a {a.chunk_interval_ms:g} ms "
                "pacing: most events reached the client in bursts, several in one read, so it was behind "
                "its upstream; its added gap p50 is then no latency but a sign of saturation."
            )
    columns = [
        "target",
        "streams done",
        "truncated",
        "broken",
        "other errors",
        "TTFB p50 ms",
        "TTFB p99 ms",
        "gap p50 ms",
        "gap p99 ms",
        "gap p99.9 ms",
        "CPU s / 1k streams",
        "CPU µs / chunk",
        "peak RSS MB",
        "load core busy",
    ]
    rows = []
    for name, m in med.items():
        kinds = m["errors_by_kind"]
        rows.append(
            [
                name,
                fmt_number(m["streams_completed"]),
                fmt_number(kinds["truncated"]),
                fmt_number(kinds["broken"]),
                fmt_number(m["errors"] - kinds["truncated"] - kinds["broken"]),
                fmt_ms(m["ttfb_ms"]["p50"]),
                fmt_ms(m["ttfb_ms"]["p99"]),
                fmt_ms(m["gap_ms"]["p50"]),
                fmt_ms(m["gap_ms"]["p99"]),
                fmt_ms(m["gap_ms"]["p99.9"]),
                fmt_number(m["cpu_s_per_1k_streams"], 2),
                fmt_number(m["cpu_us_per_chunk"], 1),
                fmt_number(m["rss_peak_mb"], 1),
                f"{m['load_core_busy']:.0%}",
            ]
        )
    added_table = Table(
        "Added by each proxy (its medians - direct's)",
        [
            "proxy",
            "added TTFB p50 ms",
            "added TTFB p99 ms",
            "added gap p50 ms",
            "added gap p99 ms",
            "RSS growth MB",
        ],
        [
            [
                name,
                fmt_ms(d["ttfb_p50_ms"]),
                fmt_ms(d["ttfb_p99_ms"]),
                fmt_ms(d["gap_p50_ms"]),
                fmt_ms(d["gap_p99_ms"]),
                fmt_number(d["rss_growth_mb"], 1),
            ]
            for name, d in added.items()
        ],
    )

    def times(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}x"

    against_table = Table(
        "aigw against nginx (same cores, same upstream, same run)",
        [
            "CPU per chunk",
            "CPU per 1k streams",
            "added gap p50 ms",
            "added gap p99 ms",
            "added TTFB p50 ms",
            "added TTFB p99 ms",
        ],
        [
            [
                times(head["cpu_per_chunk_vs_nginx"]),
                times(head["cpu_per_1k_streams_vs_nginx"]),
                *(
                    f"{head[f'added_{key}_minus_nginx_ms']:+.3f}"
                    for key in ("gap_p50", "gap_p99", "ttfb_p50", "ttfb_p99")
                ),
            ]
        ],
    )
    title = (
        f"{a.streams} concurrent streams x {a.chunks} chunks {a.chunk_interval_ms:g} ms apart, "
        f"{a.duration:g}s per run, median of {a.repeat}"
    )
    return Report(
        scenario="stream",
        header=ctx.header,
        settings={
            "streams": a.streams,
            "chunks": a.chunks,
            "chunk_interval_ms": a.chunk_interval_ms,
            "duration_s": a.duration,
            "repeat": a.repeat,
            "aigw_workers": a.workers,
            **LOAD_SIDE,
        },
        data={
            "headline": head,
            "added": added,
            "summary": med,
            "idle_rss_mb": idle_rss_mb,
            "runs": {name: [{**asdict(r), "flags": r.flags} for r in rs] for name, rs in runs.items()},
        },
        tables=[Table(title, columns, rows), added_table, against_table],
        panels=[
            Panel("time to first byte p99", "ms", {n: m["ttfb_ms"]["p99"] for n, m in med.items()}),
            Panel("inter-chunk gap p99", "ms", {n: m["gap_ms"]["p99"] for n, m in med.items()}),
            Panel("CPU per chunk", "µs", {n: med[n]["cpu_us_per_chunk"] for n in PROXIES}),
        ],
        flags=flags,
        notes=notes,
    )


SCENARIO = Scenario(
    name="stream",
    summary="N concurrent SSE streams via the mock provider: aigw and nginx, added TTFB and inter-chunk gap, "
    "CPU per chunk, RSS growth",
    add_arguments=add_arguments,
    run=run,
)
