"""A caller's parameters through a real gateway: what a target's API version or model does not
take is dropped and reported (x-aigw-dropped-params, the call record), what is out of its range
is refused with a 400 naming the range before anything is sent, or clamped when the group says so.
The mocks refuse what their provider refuses, so anything aigw let through by mistake fails."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import openai
import pytest

from .conftest import Gateway, start_upstream_mock, stop_upstream_mock, until

HELLO = [{"role": "user", "content": "hello params"}]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    mock, upstream = start_upstream_mock("--key", "k=sk-k", "--model", "gpt-4o-mini")
    claude, claude_url = start_upstream_mock(module="tests.mocks.anthropic_server")
    config = f"""
  - name: upstream
    type: openai
    base_url: {upstream}/v1
    keys: [{{id: k, value: sk-k}}]
  - name: claude
    type: anthropic
    base_url: {claude_url}
    keys: [{{id: c, value: sk-ant-c}}]
  - name: claude-legacy
    type: anthropic
    base_url: {claude_url}
    anthropic: {{api_version: "2023-06-01"}}
    keys: [{{id: l, value: sk-ant-l}}]
model_groups:
  - name: chat
    deployments: [{{provider: upstream, model: gpt-4o-mini}}]
  - name: chat-clamped
    deployments: [{{provider: upstream, model: gpt-4o-mini}}]
    clamp_params: true
  - name: claude
    deployments: [{{provider: claude, model: claude-sonnet-4-5}}]
  - name: claude-legacy
    deployments: [{{provider: claude-legacy, model: claude-sonnet-4-5}}]
tenants:
  - name: default
    apps: [{{name: demo}}]
"""
    gw = Gateway(tmp_path_factory.mktemp("params"), config, workers=2)
    key = gw.new_key()
    gw.start()
    client = openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0)
    yield gw, upstream, client
    client.close()
    assert gw.stop() == 0
    stop_upstream_mock(mock)
    stop_upstream_mock(claude)


def sent_upstream(upstream: str) -> int:
    return httpx.get(upstream + "/_mock/stats").json()["total"]


def test_out_of_range_is_refused_before_anything_is_sent(gateway):
    _, upstream, client = gateway
    before = sent_upstream(upstream)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="chat", messages=HELLO, max_tokens=20000)
    error = refused.value.body
    assert error["param"] == "max_tokens" and "at most 16384" in error["message"]  # type: ignore[index]
    assert sent_upstream(upstream) == before
    with pytest.raises(openai.BadRequestError) as anthropic_range:
        client.chat.completions.create(model="claude-legacy", messages=HELLO, temperature=1.5)
    assert "'temperature' must be between 0 and 1" in anthropic_range.value.message


def test_a_clamping_group_clamps_and_says_so(gateway):
    _, _, client = gateway
    raw = client.chat.completions.with_raw_response.create(
        model="chat-clamped", messages=HELLO, max_tokens=20000
    )
    assert raw.parse().choices[0].message.content == "Mock reply: hello params"
    assert raw.headers["x-aigw-clamped-params"] == "max_tokens"


def test_what_the_api_version_does_not_take_is_dropped_and_reported(gateway):
    gw, _, client = gateway
    # The mock answers 2026-10-21's 400 to any sampling parameter: aigw must not send one.
    raw = client.chat.completions.with_raw_response.create(
        model="claude", messages=HELLO, temperature=0.3, top_p=0.9, stop=[" ", "END"]
    )
    assert raw.parse().choices[0].message.content == "hello params"
    assert raw.headers["x-aigw-dropped-params"] == "temperature, top_p, stop"
    streamed = client.chat.completions.with_raw_response.create(
        model="claude", messages=HELLO, temperature=0.3, stream=True
    )
    assert streamed.headers["x-aigw-dropped-params"] == "temperature"
    assert "".join(c.choices[0].delta.content or "" for c in streamed.parse() if c.choices) == "hello params"
    # The older version takes them, within Anthropic's range.
    legacy = client.chat.completions.with_raw_response.create(
        model="claude-legacy", messages=HELLO, temperature=0.3
    )
    assert legacy.status_code == 200 and "x-aigw-dropped-params" not in legacy.headers
    # The call log says what was dropped and clamped (its writer stores records in batches).
    logs = [sys.executable, "-m", "gateway", "logs", "--config", str(gw.config), "--json", "--limit", "100"]

    def logged() -> bool:
        out = subprocess.run(logs, capture_output=True, text=True, check=True).stdout
        records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        dropped = {r["dropped_params"] for r in records}
        return {"temperature, top_p, stop", "temperature"} <= dropped and "max_tokens" in {
            r["clamped_params"] for r in records
        }

    until(logged, "the call records name the dropped and clamped parameters")
