"""docs/observability.md's metrics table against a live node's /metrics: every documented metric
is there from the start, at zero where nothing has happened yet, and nothing is undocumented."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics import names
from tests.e2e.conftest import Gateway, pool_yaml, start_upstream_mock, stop_upstream_mock

DOC = Path(__file__).resolve().parents[2] / "docs" / "observability.md"
Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


def documented() -> set[str]:
    return set(re.findall(r"^\| `(aigw_[a-z_]+)` \|", DOC.read_text(), re.MULTILINE))


def scrape(gw: Gateway) -> tuple[set[str], Samples]:
    """The exported metric names (as the docs spell them) and every sample by name and labels."""
    exported: set[str] = set()
    samples: Samples = {}
    for family in text_string_to_metric_families(httpx.get(gw.admin_url + "/metrics").text):
        exported.add(family.name + "_total" if family.type == "counter" else family.name)
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return exported, samples


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[Gateway]:
    # A provider whose streams last minutes (the test ends them by hanging up).
    mock, upstream = start_upstream_mock("--stream-chunks", "6000", "--chunk-interval-ms", "25")
    gw = Gateway(tmp_path_factory.mktemp("gw"), pool_yaml(upstream, "key-a"))
    gw.keys = {"demo": gw.new_key("demo")}
    gw.start()
    yield gw
    assert gw.stop() == 0
    stop_upstream_mock(mock)


def test_every_documented_metric_is_exported_from_the_start(gateway: Gateway):
    exported, samples = scrape(gateway)  # before any request
    assert exported == documented()
    assert samples["aigw_in_flight_requests"] == {(): 0.0}
    assert samples["aigw_calllog_buffered"] == {(): 0.0}
    assert samples["aigw_calllog_dropped_total"] == {(("reason", r),): 0.0 for r in names.DROP_REASONS}
    assert samples["aigw_limiter_rejections_total"] == {(("scope", s),): 0.0 for s in names.LIMIT_SCOPES}
    assert samples["aigw_upstream_retries_total"] == {
        (("outcome", o), ("provider", p)): 0.0 for o in names.RETRY_OUTCOMES for p in ("mock", "upstream")
    }
    assert samples["aigw_queue_depth"] == {(("model", "chat"),): 0.0}


def test_in_flight_requests_counts_a_request_while_it_is_handled(gateway: Gateway):
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=60)
    body = b'{"model": "chat", "stream": true, "messages": [{"role": "user", "content": "x"}]}'
    headers = {"Authorization": f"Bearer {gateway.keys['demo']}", "Content-Type": "application/json"}
    conn.request("POST", "/v1/chat/completions", body, headers)
    resp = conn.getresponse()
    assert resp.status == 200
    resp.readline()  # the stream has begun; the request is still being handled
    try:
        # Workers publish every flush interval (1 s): poll until the stream shows.
        for _ in range(2000):
            if scrape(gateway)[1]["aigw_in_flight_requests"][()] == 1.0:
                break
        assert scrape(gateway)[1]["aigw_in_flight_requests"][()] == 1.0
    finally:
        conn.close()  # hanging up ends the request
    for _ in range(2000):
        if scrape(gateway)[1]["aigw_in_flight_requests"][()] == 0.0:
            break
    assert scrape(gateway)[1]["aigw_in_flight_requests"][()] == 0.0
