"""What it costs a worker to learn that the store changed: a poll of the generation per backend,
against the read from memory that LISTEN/NOTIFY leaves it, and how soon a notification arrives.

    .venv/bin/python -m bench.store_poll --url postgresql://user@127.0.0.1:5432/db [--n 2000]

Method: each poll is timed n times in the calling thread (as a worker's reload timer would call
it); the median and the 99th percentile are reported. `--url` names an empty database to create
the schema in (the bench writes a few rows). The SQLite store is a new file in a temporary
directory. Not collected by pytest: numbers depend on the machine and the server.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gateway.store import SQLiteStore
from gateway.store.postgres import PostgresStore


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """Median and 99th percentile of `fn`'s wall time, µs."""
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def notification_ms(
    writer: PostgresStore, follower: PostgresStore, n: int
) -> tuple[list[float], list[float]]:
    """A change through `writer` (its transaction and commit), and the same until `follower`'s
    generation() shows it, ms: the difference is what delivery adds."""
    writes, seen = [], []
    for i in range(n):
        start = time.perf_counter_ns()
        writer.ensure_tenant(f"bench-{time.time_ns()}-{i}")
        writes.append((time.perf_counter_ns() - start) / 1e6)
        target = writer.generation()
        while follower.generation() < target:
            time.sleep(0.00005)
        seen.append((time.perf_counter_ns() - start) / 1e6)
    return writes, seen


def _median_p99(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SQLiteStore(Path(tmp) / "aigw.db")
        rows.append(("SQLite: read the generation", *timed(sqlite.generation, args.n)))
        sqlite.close()
    writer, follower = PostgresStore(args.url), PostgresStore(args.url)
    try:
        follower.snapshot()  # starts following, as a worker's first load does
        rows.append(
            ("PostgreSQL: poll the generation (a round trip)", *timed(follower._read_generation, args.n))
        )
        rows.append(("PostgreSQL: generation() while listening", *timed(follower.generation, args.n)))
        writes, seen = notification_ms(writer, follower, min(args.n, 300))
    finally:
        writer.close()
        follower.close()
    rows.append(("PostgreSQL: a change written (ms)", *_median_p99(writes)))
    rows.append(("PostgreSQL: written until another store sees it (ms)", *_median_p99(seen)))
    print(f"{'what':<56} {'median':>10} {'p99':>10}  (µs unless ms)")
    for what, med, tail in rows:
        print(f"{what:<56} {med:>10.2f} {tail:>10.2f}")


if __name__ == "__main__":
    main()
