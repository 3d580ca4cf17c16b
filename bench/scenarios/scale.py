"""`scale`: aigw with 1..N workers, each count pinned to as many cores, in front of the fast
upstream (nginx answering a fixed chat completion, as in `passthrough`). For each count: its
closed-loop req/s (wrk), req/s per core, the scaling efficiency (req/s at N over N times req/s
at 1) and CPU per request; and one worker's memory (the largest worker's RSS) at idle, under
that load, and holding `--streams` (1,000) open SSE streams from bench/ssemock (the `stream`
scenario's load side).

Cores: the load (wrk, the upstream, the stream client and ssemock, the harness) keeps
`--load-cores`; the counts take the other available cores in order, one a worker. A count with
more workers than there are such cores takes load cores too: it is marked *shared*, its req/s is
bounded by the load beside it, and it is no figure to size from.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from .. import aigw, ssemock
from ..aigw import Aigw
from ..console import log
from ..measure import MB, Target
from ..payloads import STREAM_REQUEST
from ..procstat import TreeMonitor, cpu_seconds, rss_bytes, tree
from ..report import Panel, Report, Table, fmt_number, fmt_rps
from ..results import Summary
from ..streamclient import allow_streams, run_streams
from . import RunContext, Scenario
from .common import is_chat_completion, load_settings
from .compare import aigw_target, chat, chat_upstream, compare
from .passthrough import ENGINES
from .stream import streaming_aigw

STREAM_CHUNKS, CHUNK_INTERVAL_MS = 64, 20.0  # the `stream` scenario's defaults
LOAD_BUSY = 0.85  # above this share of the load cores, the load side may be what bounds req/s


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-workers",
        type=int,
        help="the most workers (each count from 1 is run; default: one a core besides the load "
        "cores; when that is a single core, one more that shares the load's)",
    )
    p.add_argument(
        "--streams",
        type=int,
        default=1000,
        help="open SSE streams each count's worker memory is measured with (default 1000; 0: none)",
    )
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="",
        help="aigw's data-plane engine (`server.engine`; default: the config's default)",
    )


@dataclass(frozen=True)
class Count:
    """One worker count, and the cores it is pinned to."""

    workers: int
    cores: tuple[int, ...]
    shared: bool  # some of its cores are the load's

    @property
    def name(self) -> str:
        return f"aigw-{self.workers}w"

    @property
    def cores_spec(self) -> str:
        return ",".join(map(str, self.cores))

    @property
    def label(self) -> str:
        plural = "s" if self.workers > 1 else ""
        return f"{self.workers} worker{plural}" + (" (shared)" if self.shared else "")


def plan(available: Iterable[int], load: set[int], max_workers: int | None) -> list[Count]:
    """The counts 1..`max_workers`, each on as many cores: those not the load's first, in order,
    then the load's (shared)."""
    own = sorted(set(available) - load)
    order = own + sorted(load)
    if max_workers is None:
        # One worker alone says nothing of scaling: on two cores, the second is shared.
        max_workers = min(2, len(order)) if len(own) == 1 else max(1, len(own))
    if not 1 <= max_workers <= len(order):
        raise ValueError(f"--max-workers must be 1 to {len(order)}: one core a worker, {order} available")
    return [Count(n, tuple(order[:n]), n > len(own)) for n in range(1, max_workers + 1)]


def largest_worker_mb(gw: Aigw) -> float:
    """The RSS of aigw's largest worker process now."""
    return max(rss_bytes([pid]) for pid in aigw.worker_pids(gw)) / MB


@contextmanager
def worker_peaks(gw: Aigw) -> Iterator[list[TreeMonitor]]:
    """Each worker's peak RSS while the block runs."""
    monitors = [TreeMonitor(pid).start() for pid in aigw.worker_pids(gw)]
    try:
        yield monitors
    finally:
        for monitor in monitors:
            monitor.stop()


def _peak_mb(monitors: list[TreeMonitor]) -> float:
    return max(m.peak_rss for m in monitors) / MB


def _load_cpu_s(upstream_pid: int) -> float:
    """CPU seconds so far of the upstream and of the harness's finished children (wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return cpu_seconds(tree(upstream_pid)) + usage.ru_utime + usage.ru_stime


@dataclass
class LoadRun:
    """What a closed-loop run measured besides req/s: the largest worker's peak RSS, and how
    busy the load cores were (the upstream and wrk, over wall time, per core)."""

    worker_rss_mb: float
    load_busy: float


class Watch:
    """Entered around each closed-loop run of an aigw (compare's `watch`)."""

    def __init__(self, instances: dict[str, Aigw], upstream_pid: int, load_cores: int) -> None:
        self.instances = instances
        self.upstream_pid = upstream_pid
        self.load_cores = load_cores
        self.runs: dict[str, list[LoadRun]] = {name: [] for name in instances}

    @contextmanager
    def __call__(self, target: Target) -> Iterator[None]:
        cpu0, wall0 = _load_cpu_s(self.upstream_pid), time.monotonic()
        with worker_peaks(self.instances[target.name]) as monitors:
            yield
        busy = (_load_cpu_s(self.upstream_pid) - cpu0) / (time.monotonic() - wall0) / self.load_cores
        self.runs[target.name].append(LoadRun(_peak_mb(monitors), busy))


@dataclass
class StreamMemory:
    """One count's aigw holding the streams: its largest worker's RSS idle and at peak (the
    median of the repeats), and the streams completed and failed."""

    idle_worker_rss_mb: float
    worker_rss_mb: list[float]
    streams_completed: list[int]
    errors: dict[str, int]

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


def stream_memory(ctx: RunContext, count: Count, mock_url: str) -> StreamMemory:
    """A fresh aigw of `count` in front of ssemock, holding `--streams` open streams `--repeat`
    times; stopped afterwards, so one instance at a time holds that many connections."""
    a = ctx.args
    name = f"{count.name}-streams"
    gw = streaming_aigw(ctx, name, mock_url, count.cores_spec, count.workers, a.engine)
    target = aigw_target(name, gw)
    ramp = STREAM_CHUNKS * CHUNK_INTERVAL_MS / 1000

    def streams(n: int, duration: float) -> Any:
        body = STREAM_REQUEST.encode()
        return run_streams(target.url, body, target.headers, n, duration, ramp, STREAM_CHUNKS, ctx.load_cores)

    try:
        result = StreamMemory(largest_worker_mb(gw), [], [], {})
        if a.warmup > 0:
            streams(min(a.streams, 50), a.warmup)
        for i in range(a.repeat):
            with worker_peaks(gw) as monitors:
                stats = streams(a.streams, a.duration)
            result.worker_rss_mb.append(_peak_mb(monitors))
            result.streams_completed.append(stats.streams)
            for kind, n in stats.errors.items():
                result.errors[kind] = result.errors.get(kind, 0) + n
            log(
                f"[{i + 1}/{a.repeat}] {name}: {stats.streams:,} streams, {stats.error_count} failed, "
                f"largest worker {result.worker_rss_mb[-1]:.1f} MB"
            )
        return result
    finally:
        gw.child.stop()


def run(ctx: RunContext) -> Report:
    a = ctx.args
    load = ctx.load_cores_set
    counts = plan(ctx.available_cores, load, a.max_workers)
    allow_streams(a.streams)  # before anything starts: the proxies inherit the limit
    port, upstream = chat_upstream(ctx, workers=len(load))
    up_url = f"http://127.0.0.1:{port}/v1"
    log("starting aigw with " + ", ".join(f"{c.label} on cores {c.cores_spec}" for c in counts))
    instances: dict[str, Aigw] = {}
    idle: dict[str, float] = {}
    for count in counts:
        instances[count.name] = aigw.start(
            ctx.procs,
            ctx.run_dir / count.name,
            up_url,
            count.cores_spec,
            count.workers,
            a.aigw_src,
            limits=not a.no_limits,
            engine=a.engine,
            name=count.name,
        )
        idle[count.name] = largest_worker_mb(instances[count.name])
    watch = Watch(instances, upstream.pid, len(load))
    loaded = [chat(aigw_target(name, gw), is_chat_completion) for name, gw in instances.items()]
    closed = compare(ctx, loaded, threads=len(load), watch=watch)
    memory: dict[str, StreamMemory] = {}
    if a.streams > 0:
        mock_url, _ = ssemock.start(
            ctx.procs,
            ctx.load_cores,
            STREAM_REQUEST,
            STREAM_CHUNKS,
            CHUNK_INTERVAL_MS,
            ctx.run_dir,
            a.aigw_src,
        )
        log(f"{a.streams} open streams ({STREAM_CHUNKS} chunks {CHUNK_INTERVAL_MS:g} ms apart) per count")
        for count in counts:
            memory[count.name] = stream_memory(ctx, count, mock_url)
    return build_report(ctx, counts, closed.summary, closed.runs, watch.runs, idle, memory)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize_count(
    count: Count,
    summary: Summary,
    runs: list[LoadRun],
    idle_mb: float,
    memory: StreamMemory | None,
    streams: int,
    rps_at_1: float | None,
) -> dict[str, Any]:
    rps = summary.rps
    row: dict[str, Any] = {
        "workers": count.workers,
        "cores": count.cores_spec,
        "shared": count.shared,
        "rps": rps,
        "rps_per_core": rps / count.workers if rps else None,
        "efficiency": rps / (count.workers * rps_at_1) if rps and rps_at_1 else None,
        "cpu_us_per_request": summary.cpu_s_per_1k * 1000 if summary.cpu_s_per_1k is not None else None,
        "load_busy": max(r.load_busy for r in runs),
        "aigw_rss_under_load_mb": summary.peak_rss_mb,
        "worker_rss_mb": {
            "idle": idle_mb,
            "load": _median([r.worker_rss_mb for r in runs]),
            "streams": _median(memory.worker_rss_mb) if memory else None,
        },
    }
    if memory is not None:
        per_worker = streams / count.workers
        peak = row["worker_rss_mb"]["streams"]
        row.update(
            streams_per_worker=per_worker,
            # What one more open stream costs a worker: its growth over its own idle memory.
            kb_per_stream=(peak - memory.idle_worker_rss_mb) * 1024 / per_worker if peak else None,
            streams_completed=_median([float(n) for n in memory.streams_completed]),
            stream_errors=memory.errors,
        )
    return row


def build_report(
    ctx: RunContext,
    counts: list[Count],
    summary: dict[str, Summary],
    closed_runs: dict[str, list[Any]],
    load_runs: dict[str, list[LoadRun]],
    idle: dict[str, float],
    memory: dict[str, StreamMemory],
) -> Report:
    a = ctx.args
    rps_at_1 = summary[counts[0].name].rps
    rows = {
        c.name: summarize_count(
            c, summary[c.name], load_runs[c.name], idle[c.name], memory.get(c.name), a.streams, rps_at_1
        )
        for c in counts
    }
    flags = [f"closed {name}: {f}" for name, s in summary.items() for f in s.flags]
    for name, m in memory.items():
        if m.failed:
            kinds = ", ".join(f"{kind} {n}" for kind, n in m.errors.items() if n)
            flags.append(f"{name} with {a.streams} streams: {m.failed} failed ({kinds})")
    notes = [
        "worker RSS: the largest worker process's resident memory (pages it shares with the other "
        "workers counted in full); the supervisor and the data plane's parent come on top "
        "(aigw RSS: the whole process tree).",
    ]
    for c in counts:
        if c.shared:
            notes.append(
                f"{c.label}: cores {c.cores_spec} include the load's ({ctx.load_cores}), so the load "
                "generator and the upstream take CPU from it; its req/s and efficiency are no scaling figure."
            )
        busy = rows[c.name]["load_busy"]
        if busy > LOAD_BUSY and not c.shared:
            notes.append(
                f"{c.label}: the load cores were {busy:.0%} busy (wrk + upstream), so the load side may "
                "bound its req/s; give the load more cores (--load-cores)."
            )
    by_count = {str(c.workers): rows[c.name] for c in counts}
    worker_rss = {
        phase: max(
            (r["worker_rss_mb"][phase] for r in rows.values() if r["worker_rss_mb"][phase]), default=None
        )
        for phase in ("idle", "load", "streams")
    }
    headline = {
        "rps": {n: r["rps"] for n, r in by_count.items()},
        "rps_per_core": {n: r["rps_per_core"] for n, r in by_count.items()},
        "efficiency": {n: r["efficiency"] for n, r in by_count.items()},
        "cpu_us_per_request": {n: r["cpu_us_per_request"] for n, r in by_count.items()},
        "shared": [c.workers for c in counts if c.shared],
        "worker_rss_mb": worker_rss,
        "kb_per_stream": _median([r["kb_per_stream"] for r in rows.values() if r.get("kb_per_stream")]),
    }
    columns = [
        "workers",
        "cores",
        "req/s",
        "req/s per core",
        "scaling efficiency",
        "CPU µs / req",
        "load cores busy",
        "worker RSS idle MB",
        "worker RSS under load MB",
        f"worker RSS, {a.streams} streams MB",
        "KB / stream",
        "aigw RSS under load MB",
    ]
    body = []
    for c in counts:
        r = rows[c.name]
        body.append(
            [
                c.label,
                c.cores_spec,
                fmt_rps(r["rps"], summary[c.name].flagged),
                fmt_number(r["rps_per_core"]),
                fmt_number(r["efficiency"], 2),
                fmt_number(r["cpu_us_per_request"], 1),
                f"{r['load_busy']:.0%}",
                fmt_number(r["worker_rss_mb"]["idle"], 1),
                fmt_number(r["worker_rss_mb"]["load"], 1),
                fmt_number(r["worker_rss_mb"]["streams"], 1),
                fmt_number(r.get("kb_per_stream"), 1),
                fmt_number(r["aigw_rss_under_load_mb"], 1),
            ]
        )
    labels = {c.name: c.label for c in counts}
    return Report(
        scenario="scale",
        header=ctx.header,
        settings=load_settings(
            a,
            max_workers=counts[-1].workers,
            streams=a.streams,
            stream_chunks=STREAM_CHUNKS,
            chunk_interval_ms=CHUNK_INTERVAL_MS,
            engine=a.engine or "default",
            wrk_threads=len(ctx.load_cores_set),
        ),
        data={
            "headline": headline,
            "summary": by_count,
            "runs": {
                "closed": {n: [m.to_json() for m in ms] for n, ms in closed_runs.items()},
                "load": {n: [asdict(r) for r in rs] for n, rs in load_runs.items()},
                "streams": {n: asdict(m) for n, m in memory.items()},
            },
        },
        tables=[
            Table(
                f"1..{counts[-1].workers} workers, closed loop (wrk, {a.connections} connections, "
                f"{a.duration:g}s, median of {a.repeat})",
                columns,
                body,
            )
        ],
        panels=[
            Panel("max throughput, closed loop", "req/s", {labels[n]: r["rps"] for n, r in rows.items()}),
            Panel(
                "scaling efficiency", "of N x 1 worker", {labels[n]: r["efficiency"] for n, r in rows.items()}
            ),
            Panel("CPU per request", "µs", {labels[n]: r["cpu_us_per_request"] for n, r in rows.items()}),
            Panel(
                "largest worker's RSS under load",
                "MB",
                {labels[n]: r["worker_rss_mb"]["load"] for n, r in rows.items()},
            ),
            Panel(
                f"largest worker's RSS, {a.streams} open streams",
                "MB",
                {labels[n]: r["worker_rss_mb"]["streams"] for n, r in rows.items()},
            ),
        ],
        flags=flags,
        notes=notes,
    )


SCENARIO = Scenario(
    name="scale",
    summary="aigw on 1..N workers and cores: req/s, req/s per core, scaling efficiency, CPU per request, "
    "worker memory idle, under load and with open streams",
    add_arguments=add_arguments,
    run=run,
)
