"""What charging a shared limit in Redis costs a worker: the awaited script call exact mode makes
per request, alone and with many requests in flight (their calls share a pipeline), and the one a
Redis that lost its scripts costs (NOSCRIPT, then the script loaded and the call sent again).

    .venv/bin/python -m bench.redis_charge [--url redis://127.0.0.1:6379/0] [--n 5000]

Without `--url` a private redis-server is started (bench/services.py). Method: on one uvloop
event loop, as a worker runs them, each call is timed from the request's side (the await), n
times; the median and the 99th percentile are reported, and CPU time of this process per call.
Not collected by pytest: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import uvloop

from gateway.cluster.calls import ScriptCalls
from gateway.cluster.connect import connect
from gateway.cluster.names import Names
from gateway.cluster.scripts import CHARGE

from .services import RedisServer

NAMES = Names("bench")
# A limit that never refuses: 10^9 per second, a burst of 10^9 (T = 1 ns, in µs).
LIMIT = [0.001, 1e6]


def _p(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


async def _alone(calls: ScriptCalls, n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter_ns()
        await calls([NAMES.limit(1 + i % 3)], [*LIMIT, 1, 0])
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


async def _in_flight(calls: ScriptCalls, n: int, concurrency: int) -> list[float]:
    out: list[float] = []

    async def one(i: int) -> None:
        start = time.perf_counter_ns()
        await calls([NAMES.limit(1 + i % 3)], [*LIMIT, 1, 0])
        out.append((time.perf_counter_ns() - start) / 1000)

    for first in range(0, n, concurrency):
        await asyncio.gather(*(one(i) for i in range(first, min(n, first + concurrency))))
    return out


async def _noscript(client: object, calls: ScriptCalls, n: int) -> list[float]:
    out = []
    for _ in range(n):
        await client.script_flush()  # type: ignore[attr-defined]
        start = time.perf_counter_ns()
        await calls([NAMES.limit(1)], [*LIMIT, 1, 0])
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


async def _run(url: str, n: int, concurrency: int) -> None:
    client = connect(url, 2.0)
    calls = ScriptCalls(client, CHARGE)
    try:
        await _alone(calls, 100)  # connect and load the script first
        for name, work in (
            ("one request at a time", lambda: _alone(calls, n)),
            (f"{concurrency} requests in flight", lambda: _in_flight(calls, n, concurrency)),
            ("after NOSCRIPT (script loaded again)", lambda: _noscript(client, calls, max(50, n // 50))),
        ):
            cpu = time.process_time()
            samples = await work()
            cpu_us = (time.process_time() - cpu) * 1e6 / len(samples)
            median, p99 = _p(samples)
            print(f"| {name} | {median:.0f} µs | {p99:.0f} µs | {cpu_us:.0f} µs |")
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a Redis to use (default: a private redis-server)")
    parser.add_argument("--n", type=int, default=5000, help="calls per measurement (default 5000)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (default 32)")
    args = parser.parse_args()
    server = None if args.url else RedisServer().start()
    url = args.url or (server.url if server else "")
    print("| a limit charged in Redis (EVALSHA through redis-py, asyncio) | median | p99 | CPU per call |")
    print("|---|---:|---:|---:|")
    try:
        uvloop.run(_run(url, args.n, args.concurrency))
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
