"""The open-loop load generator (loadgen.c beside this file): compiled on demand into a cache
directory, run, and its JSON turned into figures. See loadgen.c for why it exists."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..console import log
from ..histogram import LogLinearHistogram
from ..install import ensure_command
from ..procs import pinned
from ..results import PERCENTILES

SOURCE = Path(__file__).with_name("loadgen.c")
PROGRESS = "PROGRESS "

ProgressCallback = Callable[[dict[str, Any]], None]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "aigw-bench"


def binary() -> Path:
    """The compiled generator, rebuilt whenever loadgen.c changes (the file name has its hash)."""
    source = SOURCE.read_bytes()
    target = cache_dir() / f"loadgen-{hashlib.sha256(source).hexdigest()[:16]}"
    if target.exists():
        return target
    gcc = ensure_command("gcc", "gcc", "to compile the constant-rate load generator")
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"compiling {SOURCE.name} into {target}")
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    subprocess.run([gcc, "-O2", "-Wall", "-o", str(partial), str(SOURCE)], check=True)
    partial.replace(target)  # atomic: a concurrent run never sees half a binary
    return target


@dataclass
class LoadgenResult:
    mode: str
    connections: int
    elapsed_s: float
    completed: int
    sent: int
    unsent: int
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


def _histogram(doc: dict[str, Any]) -> LogLinearHistogram:
    return LogLinearHistogram.from_buckets(
        ((int(i), int(c)) for i, c in doc["buckets"]), doc["min_ns"], doc["max_ns"], doc["sub_bits"]
    )


def parse_output(text: str) -> LoadgenResult:
    doc: dict[str, Any] = json.loads(text)
    return LoadgenResult(
        mode=doc["mode"],
        connections=int(doc["connections"]),
        elapsed_s=float(doc["elapsed_s"]),
        completed=int(doc["completed"]),
        sent=int(doc["sent"]),
        unsent=int(doc["unsent"]),
        status={k: int(v) for k, v in doc["status"].items()},
        socket_errors={k: int(v) for k, v in doc["errors"].items()},
        latency=_histogram(doc["latency"]),
        service=_histogram(doc["service"]),
        interrupted=bool(doc["interrupted"]),
    )


def parse_progress(line: str) -> dict[str, Any] | None:
    if not line.startswith(PROGRESS):
        return None
    doc: dict[str, Any] = json.loads(line[len(PROGRESS) :])
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
    on_progress: ProgressCallback | None = None,
) -> LoadgenResult:
    """Drive `url` (http only) for `duration_s`: constant `rate` req/s, or closed loop when 0."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"the load generator speaks plain http:// only, not {url!r}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    argv = [
        str(binary()),
        f"--host={parts.hostname}",
        f"--port={parts.port or 80}",
        f"--path={path}",
        f"--method={method}",
        f"--connections={connections}",
        f"--duration={duration_s:g}",
        f"--rate={rate:g}",
        f"--timeout={timeout_s:g}",
        *(f"--header={h}" for h in headers),
    ]
    if body_file is not None:
        argv.append(f"--body-file={body_file}")
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
            code = proc.wait(timeout=duration_s + timeout_s + 30)
        finally:
            if proc.poll() is None:  # interrupted: the generator must not outlive the run
                proc.kill()
                proc.wait()
        if code != 0:
            raise RuntimeError(f"loadgen failed (status {code}): {''.join(stderr_lines).strip()}")
        out.seek(0)
        return parse_output(out.read())
