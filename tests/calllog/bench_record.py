"""Microbenchmark of what logging and metrics add to each request (not collected by pytest).

    .venv/bin/python -m tests.calllog.bench_record

Hot path, per request: fill a Trace, build the priced CallRecord, record() it, observe() it.
Off the hot path: the writer thread's SQLite cost per record (batch insert + rollups).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gateway.calllog.backend import open_call_log
from gateway.calllog.pricing import PriceTable
from gateway.calllog.record import Attempt, CallRecord
from gateway.calllog.recorder import Recorder
from gateway.calllog.trace import Trace
from gateway.metrics import WorkerMetrics
from gateway.store import SQLiteStore

N = 200_000


def per_call_ns(fn: Callable[[], object], n: int = N, repeat: int = 5) -> float:
    """Best of `repeat` runs, ns per call (best: the least disturbed by the machine)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter_ns() - start) / n)
    return best


def make_record(prices: PriceTable) -> CallRecord:
    t = time.time()
    return CallRecord(
        request_id="req_1f2e_42",
        ts=t,
        ts_end=t + 0.25,
        tenant="acme",
        app="web",
        key_id="key_abc",
        route="chat",
        model="gpt-4o-mini",
        served_model="gpt-4o-mini-2024-07-18",
        provider="openai",
        deployment="openai/gpt-4o-mini",
        upstream_key="ok-1",
        attempts=[Attempt(provider="openai", key_id="ok-1", status=200, outcome="ok", latency_ms=200.0)],
        status=200,
        latency_ms=250.0,
        upstream_ms=200.0,
        ttfb_ms=250.0,
        prompt_tokens=100,
        completion_tokens=20,
        total_tokens=120,
        cost=prices.cost("gpt-4o-mini-2024-07-18", 100, 20, 0),
        client="10.0.0.7",
        user_agent="OpenAI/Python 1.50",
    )


def trace_request(prices: PriceTable) -> CallRecord:
    """Everything the request path does for its record: a Trace filled in as in the data plane."""
    trace = Trace("req_1f2e_42", "10.0.0.7", "OpenAI/Python 1.50", "chat")
    trace.rec.model = "gpt-4o-mini"
    trace.admitted("acme", "web", "key_abc")
    started = time.perf_counter()
    trace.attempt("openai", "ok-1", "gpt-4o-mini-2024-07-18", 200, "ok", started)
    trace.answered(200, b"")
    trace.usage(100, 20)
    return trace.record(prices)


def main() -> None:
    prices = PriceTable()
    rec = make_record(prices)

    recorder = Recorder(None, capacity=N * 10)  # type: ignore[arg-type]  # never started: append only
    metrics = WorkerMetrics(None)

    build = per_call_ns(lambda: make_record(prices))
    price = per_call_ns(lambda: prices.cost("gpt-4o-mini-2024-07-18", 100, 20, 0))
    traced = per_call_ns(lambda: trace_request(prices))

    def record_one() -> None:
        recorder.record(rec)

    def reset() -> None:
        recorder._buffer.clear()

    record_ns = float("inf")
    for _ in range(5):
        reset()
        record_ns = min(record_ns, per_call_ns(record_one, repeat=1))
    full = Recorder(None, capacity=0)  # type: ignore[arg-type]
    dropped_ns = per_call_ns(lambda: full.record(rec))
    observe_ns = per_call_ns(lambda: metrics.observe(rec))

    # The writer: records per second through insert() (batch + rollups, one transaction).
    batch = [make_record(prices) for _ in range(500)]
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        log = open_call_log(store)
        rounds = 40
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            log.insert(batch)
        insert_s, insert_cpu = time.perf_counter() - start, time.process_time() - cpu
        # The same through the Recorder, flushed by its thread, to measure end to end.
        rec_end_to_end = Recorder(log, capacity=100_000, batch_size=500, flush_interval_s=0.05)

        async def drive() -> float:
            rec_end_to_end.start()
            t0 = time.perf_counter()
            for r in batch * 40:
                rec_end_to_end.record(r)
                if rec_end_to_end.pending >= 5000:
                    await asyncio.sleep(0)
            await rec_end_to_end.close()
            return time.perf_counter() - t0

        e2e_s = asyncio.run(drive())
        log.close()
        store.close()

    print(f"python {sys.version.split()[0]}, best of 5 runs of {N:,} calls")
    print(f"  CallRecord(...) built (one attempt)   {build:8.0f} ns")
    print(f"  PriceTable.cost() (cached lookup)     {price:8.0f} ns")
    print(f"  Trace: request → CallRecord, priced   {traced:8.0f} ns")
    print(f"  Recorder.record() (buffered)          {record_ns:8.0f} ns")
    print(f"  Recorder.record() (buffer full: drop) {dropped_ns:8.0f} ns")
    print(f"  WorkerMetrics.observe()               {observe_ns:8.0f} ns")
    hot = traced + record_ns + observe_ns
    print(f"  hot path per request (Trace + record() + observe()) {hot:8.0f} ns")
    n = rounds * len(batch)
    for label, seconds in (
        ("insert() + rollups, CPU", insert_cpu),
        ("insert() + rollups, wall", insert_s),
        ("Recorder end to end, wall", e2e_s),
    ):
        print(f"  writer: {label:<29} {seconds / n * 1e6:8.1f} us/record ({n / seconds:,.0f}/s)")


if __name__ == "__main__":
    main()
