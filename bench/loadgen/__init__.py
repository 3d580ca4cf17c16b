"""The C load generator (loadgen.c beside this file): compiled on demand into a cache directory,
run, and its JSON turned into figures. See loadgen.c for why it exists. Its stream mode is driven
by bench/streamclient.py."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import cbuild
from ..histogram import LogLinearHistogram
from ..procs import pinned
from ..results import PERCENTILES

SOURCE = Path(__file__).with_name("loadgen.c")
PROGRESS = "PROGRESS "

ProgressCallback = Callable[[dict[str, Any]], None]


def binary() -> Path:
    """The compiled generator, rebuilt whenever loadgen.c changes."""
    return cbuild.binary(SOURCE, "to compile the constant-rate load generator")


@dataclass
class LoadgenResult:
    mode: str
    connections: int
    elapsed_s: float
    completed: int
    sent: int
    unsent: int
    expired: int  # idle connections opened afresh before carrying a request (--keepalive)
    status: dict[str, int]
    socket_errors: dict[str, int]
    latency: LogLinearHistogram  # from the intended send time (open loop) or the send (closed)
    service: LogLinearHistogram  # from the actual send time
    interrupted: bool

    @property
    def non2xx(self) -> int:
        return self.completed - self.status.get("2xx", 0)

    @property
    def rps(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s else 0.0

    def latency_ms(self) -> dict[str, float]:
        return {k: v / 1e6 for k, v in self.latency.percentiles(PERCENTILES).items()}


def histogram(doc: dict[str, Any]) -> LogLinearHistogram:
    return LogLinearHistogram.from_buckets(
        ((int(i), int(c)) for i, c in doc["buckets"]), doc["min_ns"], doc["max_ns"], doc["sub_bits"]
    )


def from_doc(doc: dict[str, Any]) -> LoadgenResult:
    """The figures of a closed-loop or constant-rate run, from the generator's JSON."""
    return LoadgenResult(
        mode=doc["mode"],
        connections=int(doc["connections"]),
        elapsed_s=float(doc["elapsed_s"]),
        completed=int(doc["completed"]),
        sent=int(doc["sent"]),
        unsent=int(doc["unsent"]),
        expired=int(doc["expired"]),
        status={k: int(v) for k, v in doc["status"].items()},
        socket_errors={k: int(v) for k, v in doc["errors"].items()},
        latency=histogram(doc["latency"]),
        service=histogram(doc["service"]),
        interrupted=bool(doc["interrupted"]),
    )


def parse_progress(line: str) -> dict[str, Any] | None:
    if not line.startswith(PROGRESS):
        return None
    doc: dict[str, Any] = json.loads(line[len(PROGRESS) :])
    return doc


def target_args(url: str) -> list[str]:
    """--host/--port/--path for `url`, which must be plain http."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"the load generator speaks plain http:// only, not {url!r}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return [f"--host={parts.hostname}", f"--port={parts.port or 80}", f"--path={path}"]


def execute(
    args: Sequence[str], cores: str | None, wait_s: float, on_progress: ProgressCallback | None = None
) -> dict[str, Any]:
    """Run the generator with `args` (pinned to `cores`) and return its JSON document."""
    argv = [str(binary()), *args]
    if on_progress is not None:
        argv.append("--progress")
    # The result holds histograms (tens of kB): a file, not a pipe nobody reads while it runs.
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(pinned(argv, cores), stdout=out, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        stderr_lines = []
        try:
            for line in proc.stderr:
                progress = parse_progress(line)
                if progress is not None and on_progress is not None:
                    on_progress(progress)
                elif progress is None:
                    stderr_lines.append(line)
            code = proc.wait(timeout=wait_s)
        finally:
            if proc.poll() is None:  # interrupted: the generator must not outlive the run
                proc.kill()
                proc.wait()
        if code != 0:
            raise RuntimeError(f"loadgen failed (status {code}): {''.join(stderr_lines).strip()}")
        out.seek(0)
        doc: dict[str, Any] = json.loads(out.read())
        return doc


def run(
    url: str,
    connections: int,
    duration_s: float,
    rate: float = 0.0,
    method: str = "GET",
    headers: Sequence[str] = (),
    body_file: Path | None = None,
    cores: str | None = None,
    timeout_s: float = 10.0,
    keepalive_s: float = 5.0,
    on_progress: ProgressCallback | None = None,
) -> LoadgenResult:
    """Drive `url` (http only) for `duration_s`: constant `rate` req/s, or closed loop when 0.
    A connection idle `keepalive_s` is opened afresh before its next request (0: never)."""
    args = [
        *target_args(url),
        f"--method={method}",
        f"--connections={connections}",
        f"--duration={duration_s:g}",
        f"--rate={rate:g}",
        f"--timeout={timeout_s:g}",
        f"--keepalive={keepalive_s:g}",
        *(f"--header={h}" for h in headers),
    ]
    if body_file is not None:
        args.append(f"--body-file={body_file}")
    return from_doc(execute(args, cores, duration_s + timeout_s + 30, on_progress))
