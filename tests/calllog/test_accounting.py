"""The one object the data plane holds: every finished request lands in the store and in the
node's metrics, and close() leaves nothing behind."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.calllog.backend import open_call_log
from gateway.calllog.store import CallFilter
from gateway.config.observability import CallLogConfig, MetricsConfig, PricingConfig
from gateway.dataplane.accounting import Accounting
from gateway.metrics import NodeMetrics, prepare_dir

from .helpers import record


def test_finished_requests_reach_the_store_and_the_metrics(store, tmp_path):
    directory = prepare_dir(str(tmp_path / "metrics"))
    cfg = CallLogConfig(flush_interval_s=3600, batch_size=10_000)
    accounting = Accounting(open_call_log(store), cfg, MetricsConfig(), PricingConfig(), directory)

    async def main() -> None:
        accounting.start(asyncio.get_running_loop())
        for i in range(1234):
            rec = record(request_id=f"r{i}", prompt_tokens=1000, completion_tokens=100)
            rec.cost = accounting.cost("gpt-4o-mini", rec.prompt_tokens, rec.completion_tokens)
            accounting.finish(rec)
        await accounting.close()

    asyncio.run(main())
    log = open_call_log(store)
    try:
        stored = log.tail(CallFilter(), 0, limit=10_000)
    finally:
        log.close()
    assert len(stored) == 1234
    assert stored[0].cost == pytest.approx((1000 * 0.15 + 100 * 0.60) / 1e6)
    text = NodeMetrics(directory).render().decode()
    requests = {
        s.name: s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name in ("aigw_requests_total", "aigw_calllog_buffered")
    }
    assert requests["aigw_requests_total"] == 1234
    assert requests.get("aigw_calllog_buffered", 0) == 0


def test_logging_can_be_turned_off_while_metrics_still_count(tmp_path):
    directory = prepare_dir(str(tmp_path / "metrics"))
    accounting = Accounting(None, CallLogConfig(enabled=False), metrics_dir=directory)
    accounting.finish(record())
    asyncio.run(accounting.close())
    assert "aigw_requests_total" in NodeMetrics(directory).render().decode()


def test_the_config_sections_decode_from_yaml_shaped_data():
    calllog = msgspec.convert(
        {"buffer_size": 5000, "retention": {"calls_days": 30, "minute_days": 1}}, CallLogConfig
    )
    assert calllog.buffer_size == 5000 and calllog.retention.calls_days == 30
    assert calllog.retention.hour_days == 90  # defaults fill in
    only_house = {"models": {"house": {"input": 1, "output": 2}}, "defaults": False}
    accounting = Accounting(None, pricing=msgspec.convert(only_house, PricingConfig))
    assert accounting.cost("house", 1_000_000, 0) == 1.0
    assert accounting.cost("gpt-4o", 1_000_000, 0) == 0.0
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"flush_interval_s": 0}, CallLogConfig)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"retention": {"raw_days": 3}}, CallLogConfig)
    assert msgspec.convert({"enabled": False}, MetricsConfig).enabled is False
