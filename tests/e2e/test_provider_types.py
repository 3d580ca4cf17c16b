"""A registered provider type is configured like any other: `openai_compatible` reaches an
OpenAI-format server through the adapter, so a stream's usage is counted even when the caller
did not ask for it, and the caller still gets only what it asked for."""

import json
import subprocess
import sys

import openai

from .conftest import Gateway, start_upstream_mock, stop_upstream_mock


def test_an_openai_compatible_stream_is_counted_without_the_caller_asking(tmp_path):
    upstream, url = start_upstream_mock("--key", "up=sk-upstream")
    gw = Gateway(
        tmp_path,
        f"""
  - name: compat
    type: openai_compatible
    base_url: {url}/v1
    keys: [{{id: up, value: sk-upstream}}]
    openai_compatible: {{stream_usage: true}}
model_groups:
  - name: chat
    deployments: [{{provider: compat, model: gpt-4o-mini}}]
tenants:
  - name: default
    apps: [{{name: demo}}]
""",
    )
    key = gw.new_key()
    gw.start()
    try:
        client = openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0)
        chunks = list(
            client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "count me"}], stream=True
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "Mock reply: count me"
        assert all(c.usage is None for c in chunks)  # the usage chunk aigw asked for is not relayed
    finally:
        assert gw.stop() == 0  # SIGTERM: the call record is written before the workers exit
        stop_upstream_mock(upstream)
    logs = subprocess.run(
        [sys.executable, "-m", "gateway", "logs", "--config", str(gw.config), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    [record] = [json.loads(line) for line in logs.stdout.splitlines() if line.startswith("{")]
    assert (record["provider"], record["status"], record["streamed"]) == ("compat", 200, True)
    assert record["total_tokens"] > 0  # from the upstream's usage chunk
