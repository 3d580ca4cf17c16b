"""Every call is logged and measured: N requests through a two-worker gateway (successes,
streams, errors) leave exactly N call records after SIGTERM, and /metrics counts the same."""

import json
import subprocess
import sys

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import MODELS_YAML, Gateway


def requests_total(gw: Gateway) -> dict[str, float]:
    text = httpx.get(gw.admin_url + "/metrics").text
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "aigw_requests":
            for sample in family.samples:
                if sample.name == "aigw_requests_total":
                    status = sample.labels["status"]
                    totals[status] = totals.get(status, 0) + sample.value
    return totals


def test_every_request_has_exactly_one_record_and_metrics_agree(tmp_path):
    gw = Gateway(tmp_path, MODELS_YAML, workers=2)
    key = gw.new_key()
    gw.start()
    client = openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0)
    for _ in range(5):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "log me"}])
    for _ in range(2):
        list(
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "stream me"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    bad = openai.OpenAI(base_url=gw.base_url + "/v1", api_key="aigw-wrong", max_retries=0)
    for _ in range(2):
        with pytest.raises(openai.AuthenticationError):
            bad.models.list()
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    expected = {"200": 7, "401": 2, "404": 1}

    # Workers publish their counts about once a second: wait for them, a round trip at a time.
    for _ in range(2000):
        if requests_total(gw) == expected:
            break
    assert requests_total(gw) == expected

    assert gw.stop() == 0  # SIGTERM: every buffered record is written before workers exit
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "logs", "--config", str(gw.config), "--json", "--limit", "100"],
        capture_output=True,
        text=True,
        check=True,
    )
    records = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(records) == 10
    assert sorted(r["status"] for r in records) == [200] * 7 + [401] * 2 + [404]
    ok = [r for r in records if r["status"] == 200]
    assert all(r["app"] == "demo" and r["tenant"] == "default" and r["provider"] == "mock" for r in ok)
    assert sum(r["streamed"] for r in ok) == 2
    assert all(r["total_tokens"] > 0 and r["attempts"] for r in ok), ok
    assert len({r["request_id"] for r in records}) == 10
