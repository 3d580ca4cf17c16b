"""The header every report carries: machine, versions, date, the command and the method."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import time
from importlib import metadata
from typing import Any

from .install import find_command

METHOD = (
    "aigw's processes (supervisor, granian and its workers, every thread) are pinned to the "
    "aigw cores with `taskset`; the load generator, the upstream and the harness itself run on the "
    "load cores. nginx, as the reference reverse proxy, is pinned to the aigw cores too, and "
    "'direct' sends the same load straight to the upstream. All targets are measured in the same "
    "run, interleaved within each repeat, after a warm-up; each figure is the median of the "
    "repeats. Closed loop (wrk): every connection sends its next request as soon as the previous "
    "answer arrives, which gives the maximum throughput. Constant rate (bench/loadgen): requests "
    "are scheduled at fixed intervals and latency counts from each request's intended send time, "
    "so a stall is not hidden by the generator waiting (no coordinated omission). A run with any "
    "non-2xx answer or socket error is FLAGGED and its throughput is not reported. CPU is "
    "utime+stime of the target's whole process tree per 1,000 completed requests; RSS is the "
    "tree's resident memory, sampled every 100 ms."
)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def _package(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _tool(name: str, *args: str) -> str | None:
    path = find_command(name)
    if not path:
        return None
    out = subprocess.run([path, *args], capture_output=True, text=True)
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else None


def versions(aigw_version: str) -> dict[str, str | None]:
    nginx = _tool("nginx", "-v")
    wrk = _tool("wrk", "-v")
    return {
        "python": platform.python_version(),
        "aigw": aigw_version,
        "granian": _package("granian"),
        "aiohttp": _package("aiohttp"),
        "nginx": nginx.removeprefix("nginx version: nginx/") if nginx else None,
        "wrk": wrk.split(" [")[0].removeprefix("wrk ") if wrk else None,
        "kernel": platform.release(),
    }


def header(prog: str, argv: list[str], aigw_cores: str, load_cores: str, aigw_version: str) -> dict[str, Any]:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": f"{prog} {shlex.join(argv)}",
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "ram_gib": round(memory_gib(), 1),
            "os": platform.platform(),
        },
        "cores": {"aigw": aigw_cores, "load": load_cores},
        "versions": versions(aigw_version),
        "method": METHOD,
    }
