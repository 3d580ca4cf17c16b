"""Trace → CallRecord: what the request path notes becomes the record, with the first
response's status and first-byte time."""

from __future__ import annotations

import time

import pytest

from gateway.calllog.pricing import PriceTable
from gateway.calllog.trace import Trace


def test_a_retried_streamed_call_becomes_a_full_record():
    trace = Trace("req_1", client="10.0.0.1", user_agent="sdk/1", route="chat")
    trace.rec.model = "gpt-4o"  # as the data plane notes it once the body is read
    trace.admitted("acme", "web", "key_a")
    first = time.perf_counter()
    trace.attempt("openai", "k1", "gpt-4o-2024-08-06", 429, "rate_limited", first)
    second = time.perf_counter()
    transport = object()
    assert trace.streaming(transport) is transport  # nothing to capture: the stream itself
    trace.attempt("openai", "k2", "gpt-4o-2024-08-06", 200, "ok", second)
    trace.usage(1000, 200, cached=400)
    rec = trace.record(PriceTable())

    who = (rec.tenant, rec.app, rec.key_id, rec.route, rec.model)
    assert who == ("acme", "web", "key_a", "chat", "gpt-4o")
    assert [(a.key_id, a.outcome) for a in rec.attempts] == [("k1", "rate_limited"), ("k2", "ok")]
    assert (rec.provider, rec.upstream_key, rec.served_model) == ("openai", "k2", "gpt-4o-2024-08-06")
    assert rec.deployment == "openai/gpt-4o-2024-08-06"
    assert rec.status == 200 and rec.streamed
    assert rec.upstream_ms == pytest.approx(sum(a.latency_ms for a in rec.attempts))
    assert rec.ttfb_ms is not None and rec.ttfb_ms <= rec.latency_ms
    assert rec.ts_end == pytest.approx(rec.ts + rec.latency_ms / 1000)
    assert rec.total_tokens == 1200
    assert rec.cost == pytest.approx((600 * 2.50 + 400 * 1.25 + 200 * 10.0) / 1e6)
    assert (rec.client, rec.user_agent) == ("10.0.0.1", "sdk/1")


def test_a_rejection_names_its_limit_and_only_the_first_response_counts():
    trace = Trace("req_2")
    trace.failed("requests", "rate_limit_exceeded", "app")
    trace.answered(429, b"{}")
    trace.answered(500, b"{}")  # a late error after the answer started: not the status
    rec = trace.record(PriceTable())
    assert (rec.status, rec.error_code, rec.limit_scope) == (429, "rate_limit_exceeded", "app")
    assert rec.upstream_ms is None and rec.cost == 0.0 and rec.attempts == []
