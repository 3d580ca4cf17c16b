"""Microbenchmark of aigw's own request path, without granian: the CPU one proxied chat
completion costs inside a worker, every feature on (auth, three limits, key selection, call
logging with its SQLite writer, metrics).

It builds the worker's RSGI app (`gateway.dataplane.app.Gateway`) in this process over a fresh
store and shared region, in front of nginx serving a fixed completion (started on the load core),
and calls `__rsgi__` with a stand-in for granian's request objects from `--concurrency` tasks.
Reported: CPU µs per request of this process (the writer thread included) and wall µs. Because it
leaves out the HTTP server and the load generator, it moves only with aigw's own code, which
makes it the figure to compare two commits with on a noisy machine:

    taskset -c 0 python -m bench.path_micro [--requests N] [--concurrency C] [--load-cores 1]

For counts that do not depend on the machine's load at all, run it under callgrind twice with
different `--requests` and divide the difference in instructions by the difference in requests:
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python -m bench.path_micro --requests 500
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from . import aigw, nginx
from .payloads import CHAT_PATH, CHAT_REQUEST
from .procs import Processes, free_port


class _Scope:
    proto = "http"
    path = CHAT_PATH
    method = "POST"
    client = "127.0.0.1:40000"

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers  # granian's headers object: only .get() is used


class _Proto:
    """granian's RSGI protocol object, as far as a non-streamed request uses it."""

    __slots__ = ("body", "status")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.status = 0

    async def __call__(self) -> bytes:
        return self.body

    def response_bytes(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status


async def _drive(app: Any, scope: _Scope, body: bytes, requests: int, concurrency: int) -> int:
    left = requests
    failed = 0

    async def one_connection() -> None:
        nonlocal left, failed
        while left > 0:
            left -= 1
            proto = _Proto(body)
            await app.__rsgi__(scope, proto)
            failed += proto.status != 200

    await asyncio.gather(*(one_connection() for _ in range(concurrency)))
    return failed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=20_000, help="requests per repeat (default 20,000)")
    p.add_argument("--concurrency", type=int, default=64, help="requests in flight (default 64)")
    p.add_argument("--repeat", type=int, default=3, help="repeats; the median is reported (default 3)")
    p.add_argument("--load-cores", default="1", help="cores for the nginx upstream (taskset syntax)")
    p.add_argument("--no-limits", action="store_true", help="no per-request limits")
    p.add_argument("--quiet", action="store_true", help="call logging and metrics off (bench's aigw-quiet)")
    a = p.parse_args()

    import uvloop

    from gateway.admission import SharedRegion
    from gateway.config import load_config
    from gateway.config.published import ENV as published_env
    from gateway.config.published import Published, publish
    from gateway.metrics.worker import ENV as METRICS_ENV
    from gateway.node.region import key_capacity

    with tempfile.TemporaryDirectory(prefix="aigw-path-") as tmp, Processes(Path(tmp)) as procs:
        run = Path(tmp)
        port = free_port()
        nginx.start(
            procs, "upstream", run / "up", nginx.upstream_config(run / "up", port), port, a.load_cores
        )
        config = run / "aigw.yaml"
        config.write_text(
            aigw.config_text(
                run,
                free_port(),
                free_port(),
                f"http://127.0.0.1:{port}/v1",
                1,
                limits=not a.no_limits,
                observability=not a.quiet,
            )
        )
        key = aigw.create_key(config, None)
        cfg = load_config(str(config))
        region_path = str(run / "region")
        region = SharedRegion.create(region_path, 64, cfg.server.limit_buckets, key_capacity(cfg))
        (run / "metrics").mkdir()
        node_config = str(run / "node-config")
        publish(node_config, Published(epoch=1, source=str(config), text=config.read_text()))
        os.environ.update(
            {published_env: node_config, "AIGW_REGION": region_path, METRICS_ENV: str(run / "metrics")}
        )
        from gateway.dataplane.app import Gateway

        body = CHAT_REQUEST.encode()
        headers = {
            "authorization": f"Bearer {key}",
            "content-type": "application/json",
            "content-length": str(len(body)),
            "user-agent": "bench.path_micro",
        }
        scope = _Scope(headers)

        async def measure() -> None:
            app = Gateway()
            app.__rsgi_init__(asyncio.get_running_loop())
            await _drive(app, scope, body, 2_000, a.concurrency)  # warm-up: connections, caches
            cpu, wall = [], []
            for _ in range(a.repeat):
                c0, w0 = time.process_time(), time.perf_counter()
                failed = await _drive(app, scope, body, a.requests, a.concurrency)
                cpu.append((time.process_time() - c0) / a.requests * 1e6)
                wall.append((time.perf_counter() - w0) / a.requests * 1e6)
                if failed:
                    raise SystemExit(f"{failed} request(s) did not answer 200")
            await app.accounting.close()
            await app.pool.close()
            print(
                f"aigw request path, {a.requests:,} requests x {a.repeat}, {a.concurrency} in flight: "
                f"{statistics.median(cpu):.1f} CPU µs/request (median; runs: "
                f"{', '.join(f'{c:.1f}' for c in cpu)}), {statistics.median(wall):.1f} wall µs/request"
            )

        uvloop.install()
        asyncio.run(measure())
        region.close()


if __name__ == "__main__":
    main()
