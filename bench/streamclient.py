"""The `stream` scenario's client: bench/loadgen's stream mode (C, one thread, epoll), which holds
N connections, each running one SSE stream after another for the duration, timing every event as
it is read. See loadgen.c for what is measured; this turns its JSON into StreamStats."""

from __future__ import annotations

import resource
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import loadgen
from .histogram import LogLinearHistogram


@dataclass
class StreamStats:
    ttfb: LogLinearHistogram = field(default_factory=LogLinearHistogram)
    gaps: LogLinearHistogram = field(default_factory=LogLinearHistogram)
    streams: int = 0  # completed with status 200 and every expected event
    events: int = 0
    errors: dict[str, int] = field(
        default_factory=lambda: {"connect": 0, "status": 0, "truncated": 0, "timeout": 0, "broken": 0}
    )
    cpu_s: float = 0.0  # the client's own CPU time

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def from_doc(doc: Mapping[str, Any]) -> StreamStats:
    stream, errors = doc["stream"], doc["errors"]
    return StreamStats(
        ttfb=loadgen.histogram(stream["ttfb"]),
        gaps=loadgen.histogram(stream["gaps"]),
        streams=int(stream["streams"]),
        events=int(stream["events"]),
        errors={
            "connect": int(errors["connect"]),
            "status": int(stream["status_errors"]),
            "truncated": int(stream["truncated"]),
            "timeout": int(errors["timeout"]),
            "broken": int(errors["read"]) + int(errors["write"]),  # the connection failed mid-stream
        },
        cpu_s=float(doc["cpu_s"]),
    )


def allow_streams(streams: int) -> None:
    """Raise this process's descriptor limit (which the client, the upstream and the proxies
    started after it inherit) for `streams` concurrent streams: a socket per stream on each side
    of a proxy, plus slack."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, streams * 2 + 1024)), hard))


def run_streams(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    streams: int,
    duration_s: float,
    ramp_s: float,
    chunks: int,
    cores: str | None = None,
    stream_timeout_s: float = 60.0,
) -> StreamStats:
    """Hold `streams` concurrent streams (started evenly over `ramp_s`) for `duration_s`; a stream
    is complete with the role event and `chunks` content events."""
    with tempfile.TemporaryDirectory(prefix="aigw-stream-") as tmp:
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        args = [
            *loadgen.target_args(url),
            "--method=POST",
            f"--connections={streams}",
            f"--duration={duration_s:g}",
            f"--ramp={ramp_s:g}",
            f"--stream-events={chunks + 1}",
            f"--timeout={stream_timeout_s:g}",
            f"--body-file={body_file}",
            *(f"--header={k}: {v}" for k, v in headers.items()),
        ]
        return from_doc(loadgen.execute(args, cores, duration_s + stream_timeout_s + 30))
