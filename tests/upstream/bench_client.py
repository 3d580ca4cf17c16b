"""Microbenchmark: requests/s of gateway.upstream.Pool vs aiohttp against the mock provider.

Not collected by pytest. Run from the repo root:

    .venv/bin/python tests/upstream/bench_client.py [--requests 20000] [--concurrency 32] [--stream]

Client CPU per request is reported too: with two cores the mock may cap the req/s, and the
CPU a client burns per request is what decides how much of a gateway worker it leaves free.
The mock runs in its own process (`python -m gateway.mock`); each client runs alone in a fresh
child process on uvloop, rounds alternate between the clients, and the best round is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

KEY = "sk-bench"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def body(stream: bool) -> bytes:
    doc = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "say hi"}], "stream": stream}
    return json.dumps(doc).encode()


async def run_pool(url: str, n: int, concurrency: int, stream: bool) -> tuple[float, float]:
    from gateway.upstream import Origin, Pool, encode_headers

    pool = Pool(max_connections_per_origin=concurrency)
    origin = Origin.from_url(url + "/v1")
    headers = encode_headers([("Authorization", f"Bearer {KEY}"), ("Content-Type", "application/json")])
    payload = body(stream)

    async def one() -> None:
        resp = await pool.request(origin, b"POST", b"/chat/completions", headers, payload, read_timeout=10)
        if stream:
            async for _ in resp:
                pass
        else:
            await resp.read()
        assert resp.status == 200

    elapsed = await drive(one, n, concurrency)
    await pool.close()
    return elapsed


async def run_aiohttp(url: str, n: int, concurrency: int, stream: bool) -> tuple[float, float]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=30)
    session = aiohttp.ClientSession(connector=connector)
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=None, sock_read=10)
    payload = body(stream)
    target = url + "/v1/chat/completions"

    async def one() -> None:
        async with session.post(target, data=payload, headers=headers, timeout=timeout) as resp:
            if stream:
                async for _ in resp.content.iter_any():
                    pass
            else:
                await resp.read()
            assert resp.status == 200

    elapsed = await drive(one, n, concurrency)
    await session.close()
    return elapsed


async def drive(one, n: int, concurrency: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    for _ in range(min(n, 500)):  # warm up: connections, caches
        await one()
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await one()

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, time.process_time() - cpu


def child(args: argparse.Namespace) -> None:
    import uvloop

    fn = run_pool if args.client == "pool" else run_aiohttp
    elapsed, cpu = uvloop.run(fn(args.url, args.requests, args.concurrency, args.stream))
    print(f"{args.requests / elapsed:.0f} {cpu / args.requests * 1e6:.1f}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=20000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--stream", action="store_true", help="streamed chat completions (SSE)")
    p.add_argument("--client", choices=["pool", "aiohttp"], help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.client:
        child(args)
        return

    mock = subprocess.Popen(
        [sys.executable, "-m", "gateway.mock", "--port", "0", "--key", KEY],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert mock.stdout is not None
        line = mock.stdout.readline().strip()  # "mock listening on http://HOST:PORT"
        url = line.rsplit(" ", 1)[-1]
        results: dict[str, list[float]] = {"pool": [], "aiohttp": []}
        cpu: dict[str, list[float]] = {"pool": [], "aiohttp": []}
        for _ in range(args.rounds):
            for client in results:
                out = subprocess.run(
                    [sys.executable, __file__, "--client", client, "--url", url,
                     "--requests", str(args.requests), "--concurrency", str(args.concurrency)]
                    + (["--stream"] if args.stream else []),
                    capture_output=True, text=True, check=True, cwd=ROOT,
                    env={**os.environ, "PYTHONPATH": ROOT},
                )  # fmt: skip
                rate, us = out.stdout.split()
                results[client].append(float(rate))
                cpu[client].append(float(us))
        mode = "stream" if args.stream else "json"
        print(f"{mode}: {args.requests} requests x {args.rounds} rounds, concurrency {args.concurrency}")
        for client, rates in results.items():
            rounds = ", ".join(f"{r:.0f}" for r in rates)
            print(
                f"  {client:8s} best {max(rates):8.0f} req/s   rounds: {rounds}"
                f"   client CPU {min(cpu[client]):.1f} us/request"
            )
        print(f"  ratio    {max(results['pool']) / max(results['aiohttp']):.2f}x")
    finally:
        mock.terminate()
        mock.wait()


if __name__ == "__main__":
    main()
