"""wrk, the closed-loop load generator: a Lua script that sets method, headers and body and prints
its figures as one JSON line from `done()`, and the parser of that line."""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .procs import pinned

MARKER = "WRK_JSON "

_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
    '"latency_us":{"min":%d,"max":%d,"mean":%.3f,"p50":%d,"p90":%d,"p99":%d,"p99.9":%d}}\n',
    "MARKER", summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency.min, latency.max, latency.mean,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
""".replace("MARKER", MARKER)


def lua_string(value: str) -> str:
    """`value` as a double-quoted Lua 5.1 literal; every byte outside printable ASCII (and the
    quote and backslash) as a decimal escape, which LuaJIT and Lua 5.1 both read."""
    out = []
    for byte in value.encode():
        if byte in (0x22, 0x5C) or byte < 0x20 or byte > 0x7E:
            out.append(f"\\{byte:03d}")
        else:
            out.append(chr(byte))
    return '"' + "".join(out) + '"'


def script(method: str, headers: Mapping[str, str], body: str | None) -> str:
    lines = [f"wrk.method = {lua_string(method)}"]
    for name, value in headers.items():
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    if body is not None:
        lines.append(f"wrk.body = {lua_string(body)}")
    return "\n".join(lines) + "\n" + _DONE


def rotating_keys_script(method: str, headers: Mapping[str, str], body: str, keys_file: Path) -> str:
    """As `script`, with each request's bearer token the next line of `keys_file` (round robin):
    many consumers, each seen as often as the others."""
    rotate = f"""
local keys = {{}}
for line in io.lines({lua_string(str(keys_file))}) do keys[#keys + 1] = line end
local n, i = #keys, 0
request = function()
  i = i % n + 1
  wrk.headers["Authorization"] = "Bearer " .. keys[i]
  return wrk.format()
end
"""
    return script(method, headers, body) + rotate


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    non2xx: int  # wrk counts answers with status > 399
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def parse_output(text: str) -> WrkResult:
    """The figures from wrk's stdout (the line our `done()` printed)."""
    for line in text.splitlines():
        if line.startswith(MARKER):
            doc: dict[str, Any] = json.loads(line[len(MARKER) :])
            break
    else:
        raise ValueError(f"wrk printed no result line; its output was:\n{text.strip()}")
    errors = doc["errors"]
    latency = doc["latency_us"]
    return WrkResult(
        requests=int(doc["requests"]),
        duration_s=doc["duration_us"] / 1e6,
        non2xx=int(errors["status"]),
        socket_errors={k: int(errors[k]) for k in ("connect", "read", "write", "timeout")},
        latency_ms={k: latency[k] / 1000 for k in ("p50", "p90", "p99", "p99.9")},
    )


def run(
    wrk: str,
    url: str,
    script_path: Path,
    connections: int,
    duration_s: float,
    cores: str | None,
    threads: int = 1,
    timeout_s: float = 10,
) -> WrkResult:
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, math.ceil(duration_s))}s",  # wrk takes whole seconds
        f"--timeout={timeout_s:g}s",
        "-s",
        str(script_path),
        url,
    ]
    out = subprocess.run(
        pinned(argv, cores), capture_output=True, text=True, timeout=duration_s + timeout_s + 30
    )
    if out.returncode != 0:
        raise RuntimeError(
            f"wrk failed (status {out.returncode}): {out.stderr.strip() or out.stdout.strip()}"
        )
    try:
        return parse_output(out.stdout)
    except ValueError as exc:  # a script error is reported on stderr, with status 0
        raise RuntimeError(f"{exc}\n{out.stderr.strip()}") from None
