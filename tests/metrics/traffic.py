"""Deterministic request records for the metrics tests, shared by the test and its worker
processes, and what Prometheus must show for them."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from gateway.calllog.record import Attempt, CallRecord

MODELS = ("gpt-4o", "gpt-4o-mini")


def records(seed: int, n: int = 200) -> list[CallRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        model = rng.choice(MODELS)
        kind = rng.random()
        if kind < 0.1:  # refused by a tenant limit: never reached a provider
            out.append(
                CallRecord(
                    request_id=f"req_{seed}_{i}",
                    ts=1.0,
                    ts_end=1.001,
                    route="chat",
                    model=model,
                    status=429,
                    error_code="rate_limit_exceeded",
                    limit_scope="tenant",
                    latency_ms=rng.uniform(0.05, 2),
                )
            )
            continue
        retried = kind < 0.3
        upstream = rng.uniform(20, 3000)
        attempts = [Attempt(provider="openai", key_id="k2", status=200, outcome="ok", latency_ms=upstream)]
        if retried:
            attempts.insert(
                0, Attempt(provider="openai", key_id="k1", status=429, outcome="rate_limited", latency_ms=5)
            )
        out.append(
            CallRecord(
                request_id=f"req_{seed}_{i}",
                ts=1.0,
                ts_end=2.0,
                route="chat",
                model=model,
                served_model=model,
                provider="openai",
                upstream_key="k2",
                attempts=attempts,
                status=200,
                latency_ms=upstream + rng.uniform(0.05, 3),
                upstream_ms=upstream,
                ttfb_ms=rng.uniform(10, 200),
                streamed=rng.random() < 0.5,
                prompt_tokens=rng.randint(1, 5000),
                completion_tokens=rng.randint(0, 1000),
                cached_tokens=rng.choice([0, 0, 128]),
                cost=rng.uniform(0, 0.01),
            )
        )
    return out


@dataclass
class Expected:
    requests: Counter[tuple[str, str, str, str]]
    input: int
    output: int
    cached: int
    cost: float
    retries: int
    rejections: int
    durations: list[float]
    streamed: int


def expected(recs: list[CallRecord]) -> Expected:
    return Expected(
        requests=Counter((r.route, r.model, r.provider, str(r.status)) for r in recs),
        input=sum(r.prompt_tokens for r in recs),
        output=sum(r.completion_tokens for r in recs),
        cached=sum(r.cached_tokens for r in recs),
        cost=sum(r.cost for r in recs),
        retries=sum(len(r.attempts) - 1 for r in recs if r.attempts),
        rejections=sum(1 for r in recs if r.limit_scope),
        durations=[r.latency_ms / 1000 for r in recs],
        streamed=sum(1 for r in recs if r.streamed),
    )
