"""A stand-in worker process: publishes the metrics of one seed's traffic, then waits for a line
on stdin before exiting (so the test can scrape while it lives and after it died).

python -m tests.metrics.worker_child DIR SEED BUFFERED
"""

from __future__ import annotations

import sys

from gateway.metrics import WorkerMetrics
from gateway.metrics.names import CALLLOG_BUFFERED

from .traffic import records


def main() -> None:
    directory, seed, buffered = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    metrics = WorkerMetrics(directory)
    for rec in records(seed):
        metrics.observe(rec)
    metrics.calllog_dropped("buffer_full", seed)
    metrics.set_gauge(CALLLOG_BUFFERED, buffered)
    metrics.flush()
    print("published", flush=True)
    sys.stdin.readline()
    metrics.close()


if __name__ == "__main__":
    main()
