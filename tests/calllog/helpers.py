"""Building call records for tests, and the rollups they must add up to (computed independently
of the SQL, straight from the records)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

from gateway.calllog.record import Attempt, CallRecord
from gateway.calllog.rollup import DIMENSIONS, GRAINS, LATENCY_BUCKETS, bucket_start, latency_bucket

T0 = 1_790_000_000.0  # a fixed Unix time, so tests never depend on the clock
_ids = itertools.count(1)


def record(**fields: Any) -> CallRecord:
    n = next(_ids)
    base: dict[str, Any] = {
        "request_id": f"req_test_{n:x}",
        "ts": T0,
        "ts_end": T0 + 0.25,
        "tenant": "acme",
        "app": "web",
        "key_id": "key_a",
        "route": "chat",
        "model": "gpt-4o-mini",
        "served_model": "gpt-4o-mini",
        "provider": "openai",
        "deployment": "openai/gpt-4o-mini",
        "upstream_key": "ok-1",
        "attempts": [Attempt(provider="openai", key_id="ok-1", status=200, outcome="ok", latency_ms=200.0)],
        "status": 200,
        "latency_ms": 250.0,
        "upstream_ms": 200.0,
        "ttfb_ms": 250.0,
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "total_tokens": 120,
        "cost": 0.000027,
        "client": "10.0.0.7",
        "user_agent": "OpenAI/Python 1.50",
    }
    base.update(fields)
    if "ts" in fields and "ts_end" not in fields:
        base["ts_end"] = base["ts"] + base["latency_ms"] / 1000
    return CallRecord(**base)


def expected_rollups(records: list[CallRecord]) -> dict[tuple[Any, ...], list[float]]:
    """(grain, bucket, *dimensions) → [calls, errors, prompt, completion, cached, cost, latency
    sum, upstream sum, *histogram], computed in Python from the records."""
    out: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0.0] * (8 + LATENCY_BUCKETS))
    for r in records:
        dims = tuple(getattr(r, d) for d in DIMENSIONS)
        for grain in GRAINS.values():
            row = out[(grain, bucket_start(r.ts, grain), *dims)]
            row[0] += 1
            row[1] += r.status >= 400
            row[2] += r.prompt_tokens
            row[3] += r.completion_tokens
            row[4] += r.cached_tokens
            row[5] += r.cost
            row[6] += r.latency_ms
            row[7] += r.upstream_ms or 0.0
            row[8 + latency_bucket(r.latency_ms)] += 1
    return dict(out)
