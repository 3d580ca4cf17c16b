"""One load run against one target, with the target's process tree watched meanwhile."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import loadgen, wrk
from .procstat import TreeMonitor
from .results import Measurement

MB = 1024 * 1024


@dataclass
class Target:
    name: str
    url: str
    root_pid: int | None  # its process tree is what the CPU and RSS figures cover
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)

    def header_lines(self) -> list[str]:
        return [f"{k}: {v}" for k, v in self.headers.items()]


def _monitor(target: Target) -> TreeMonitor | None:
    return TreeMonitor(target.root_pid).start() if target.root_pid else None


def _finish(m: Measurement, monitor: TreeMonitor | None) -> Measurement:
    if monitor is not None:  # already stopped
        m.cpu_s = monitor.cpu_s
        m.peak_rss_mb = monitor.peak_rss / MB
        m.start_rss_mb = monitor.start_rss / MB
    return m


def closed_loop(
    wrk_path: str,
    target: Target,
    script_path: Path,
    connections: int,
    duration_s: float,
    cores: str | None,
    threads: int = 1,
) -> Measurement:
    """Maximum throughput with wrk (`threads` of it): each connection sends again as soon as it
    has an answer."""
    monitor = _monitor(target)
    try:
        r = wrk.run(wrk_path, target.url, script_path, connections, duration_s, cores, threads)
    finally:
        if monitor is not None:
            monitor.stop()
    return _finish(
        Measurement(
            target=target.name,
            mode="closed",
            tool="wrk",
            connections=connections,
            duration_s=r.duration_s,
            requests=r.requests,
            rps=r.rps,
            latency_ms=r.latency_ms,
            non2xx=r.non2xx,
            socket_errors=r.socket_errors,
        ),
        monitor,
    )


def with_loadgen(
    target: Target,
    body_file: Path | None,
    connections: int,
    duration_s: float,
    rate: float,
    cores: str | None,
    on_progress: loadgen.ProgressCallback | None = None,
) -> Measurement:
    """A run of bench/loadgen: constant `rate` (latency from intended send time), or closed if 0."""
    monitor = _monitor(target)
    try:
        r = loadgen.run(
            target.url,
            connections,
            duration_s,
            rate=rate,
            method=target.method,
            headers=target.header_lines(),
            body_file=body_file,
            cores=cores,
            on_progress=on_progress,
        )
    finally:
        if monitor is not None:
            monitor.stop()
    return _finish(
        Measurement(
            target=target.name,
            mode="open" if rate > 0 else "closed",
            tool="loadgen",
            connections=connections,
            duration_s=r.elapsed_s,
            requests=r.completed,
            rps=r.rps,
            latency_ms=r.latency_ms(),
            non2xx=r.non2xx,
            socket_errors=r.socket_errors,
            rate_target=rate or None,
            unsent=r.unsent,
        ),
        monitor,
    )
