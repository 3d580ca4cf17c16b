"""/metrics sums every worker of the node: two real processes publish, the node renders, and
prometheus_client's own parser reads back exactly what they observed."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.calllog.record import CallRecord
from gateway.metrics import NodeMetrics, WorkerMetrics, prepare_dir
from gateway.metrics.names import DURATION_BUCKETS

from .traffic import expected, records

ROOT = Path(__file__).resolve().parents[2]


Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(node: NodeMetrics) -> Samples:
    """Sample name → [(labels, value)], parsed by prometheus_client's own text parser."""
    out: Samples = {}
    for family in text_string_to_metric_families(node.render().decode()):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(v for lbl, v in samples.get(name, []) if labels.items() <= lbl.items())


def start_worker(directory: str, seed: int, buffered: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.metrics.worker_child", directory, str(seed), str(buffered)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "published"
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert proc.wait(timeout=30) == 0


def test_two_worker_processes_add_up_in_the_parsed_exposition(tmp_path):
    directory = prepare_dir(str(tmp_path / "metrics"))
    workers = [start_worker(directory, 1, 3), start_worker(directory, 2, 4)]
    try:
        want = expected(records(1) + records(2))
        got = scrape(NodeMetrics(directory))

        for (route, model, provider, status), n in want.requests.items():
            labels = {"route": route, "model": model, "provider": provider, "status": status}
            assert total(got, "aigw_requests_total", **labels) == n
        assert total(got, "aigw_requests_total") == 400

        for direction in ("input", "output", "cached"):
            assert total(got, "aigw_tokens_total", direction=direction) == getattr(want, direction)
        assert math.isclose(total(got, "aigw_cost_usd_total"), want.cost)
        assert total(got, "aigw_upstream_retries_total", outcome="rate_limited") == want.retries
        assert total(got, "aigw_limiter_rejections_total", scope="tenant") == want.rejections
        assert total(got, "aigw_calllog_dropped_total", reason="buffer_full") == 3

        # The histogram: cumulative buckets exactly as Prometheus would count the durations.
        seconds = want.durations
        assert total(got, "aigw_request_duration_seconds_count") == 400
        assert math.isclose(total(got, "aigw_request_duration_seconds_sum"), sum(seconds))
        for bound in DURATION_BUCKETS:
            le = str(float(bound))
            at_most = total(got, "aigw_request_duration_seconds_bucket", le=le)
            assert at_most == sum(1 for s in seconds if s <= bound), le
        assert total(got, "aigw_time_to_first_byte_seconds_count") == want.streamed
        overhead = total(got, "aigw_gateway_overhead_seconds_count")
        assert overhead == 400 - want.rejections

        # Gauges: the sum over live workers.
        assert total(got, "aigw_calllog_buffered") == 7
    finally:
        for w in workers:
            stop(w)

    # Both workers gone: their counters stay (a total never shrinks), their gauges go.
    after = scrape(NodeMetrics(directory))
    assert total(after, "aigw_requests_total") == 400
    assert total(after, "aigw_calllog_buffered") == 0


def test_publishing_twice_does_not_count_twice(tmp_path):
    directory = prepare_dir(str(tmp_path / "m"))
    worker = WorkerMetrics(directory)
    for rec in records(7, n=10):
        worker.observe(rec)
    worker.flush()
    worker.flush()
    assert total(scrape(NodeMetrics(directory)), "aigw_requests_total") == 10
    worker.observe(records(8, n=1)[0])
    worker.close()
    assert total(scrape(NodeMetrics(directory)), "aigw_requests_total") == 11


def test_caller_chosen_model_names_cannot_blow_up_the_label_set(tmp_path):
    directory = prepare_dir(str(tmp_path / "m"))
    worker = WorkerMetrics(directory, max_label_values=3)
    base: dict[str, Any] = {"ts": 1.0, "ts_end": 1.0, "route": "chat", "latency_ms": 1.0}
    for i in range(50):
        worker.observe(
            CallRecord(request_id="r", model=f"junk-{i}", status=404, error_code="model_not_found", **base)
        )
    for i in range(5):
        worker.observe(CallRecord(request_id="r", model=f"model-{i}", status=200, **base))
    worker.close()
    models = {lbl["model"] for lbl, _ in scrape(NodeMetrics(directory))["aigw_requests_total"]}
    assert models == {"", "model-0", "model-1", "model-2", "other"}


def test_a_process_outside_a_node_counts_but_publishes_nothing():
    worker = WorkerMetrics(None)
    worker.observe(records(1, n=1)[0])
    worker.close()  # no directory: nothing to write, nothing raised


class KeyState:
    def __init__(self, provider: str, key_id: str, state: str, **extra: Any):
        self.provider, self.key_id, self.state = provider, key_id, state
        self.cause = extra.get("cause")
        self.in_flight = extra.get("in_flight", 0)
        self.cooling_for_s = extra.get("cooling_for_s")
        self.remaining_requests = extra.get("remaining_requests")
        self.limit_requests = extra.get("limit_requests")


def test_upstream_key_gauges_come_from_the_region_at_scrape_time():
    keys = [
        KeyState("openai", "k1", "cooling", in_flight=2, cooling_for_s=4.5, cause="unreachable"),
        KeyState("openai", "k2", "healthy", in_flight=7, remaining_requests=250, limit_requests=1000),
    ]
    got = scrape(NodeMetrics(None, lambda: keys))
    assert total(got, "aigw_upstream_key_state", key_id="k1", state="cooling") == 1
    assert total(got, "aigw_upstream_key_state", key_id="k1") == 1  # exactly one state each
    assert total(got, "aigw_upstream_key_cause", key_id="k1", cause="unreachable") == 1
    assert total(got, "aigw_upstream_key_cause", key_id="k1") == 1  # one cause while out of use
    assert total(got, "aigw_upstream_key_cause", key_id="k2") == 0  # none while usable
    assert total(got, "aigw_upstream_key_in_flight") == 9
    assert total(got, "aigw_upstream_key_cooldown_seconds", key_id="k1") == 4.5
    assert total(got, "aigw_upstream_key_headroom_ratio", key_id="k2", kind="requests") == 0.25


@pytest.mark.parametrize("leftover", ["counter_aigw-1.db", "gauge_livesum_aigw-1.db"])
def test_a_node_starts_from_an_empty_directory(tmp_path, leftover):
    directory = tmp_path / "m"
    directory.mkdir()
    (directory / leftover).write_bytes(b"stale")
    prepare_dir(str(directory))
    assert list(directory.iterdir()) == []


def test_records_the_recorder_drops_show_up_as_a_metric(tmp_path):
    from gateway.calllog.recorder import Recorder

    directory = prepare_dir(str(tmp_path / "m"))
    worker = WorkerMetrics(directory)
    recorder = Recorder(None, capacity=2, on_drop=worker.calllog_dropped)  # type: ignore[arg-type]
    for rec in records(3, n=5):
        recorder.record(rec)
    worker.close()
    assert total(scrape(NodeMetrics(directory)), "aigw_calllog_dropped_total", reason="buffer_full") == 3


def test_the_node_directory_lives_as_long_as_the_node():
    from gateway.metrics import node_metrics_dir

    with node_metrics_dir() as path:
        worker = WorkerMetrics(path)
        worker.observe(records(4, n=1)[0])
        worker.close()
        assert total(scrape(NodeMetrics(path)), "aigw_requests_total") == 1
    assert not Path(path).exists()


def test_gauges_read_at_each_flush(tmp_path):
    from gateway.metrics.names import QUEUE_DEPTH

    directory = prepare_dir(str(tmp_path / "m"))
    worker = WorkerMetrics(directory)
    waiting = {"gpt-4o": 0}
    worker.gauge_source(QUEUE_DEPTH, lambda: waiting["gpt-4o"], ("gpt-4o",))
    waiting["gpt-4o"] = 5
    worker.flush()
    assert total(scrape(NodeMetrics(directory)), "aigw_queue_depth", model="gpt-4o") == 5
    waiting["gpt-4o"] = 2
    worker.close()
    assert total(scrape(NodeMetrics(directory)), "aigw_queue_depth", model="gpt-4o") == 2
