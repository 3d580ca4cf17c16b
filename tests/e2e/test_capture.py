"""Body capture through a two-worker gateway: a capturing model group keeps each call's bodies
with its record — secrets redacted, size capped, streams included — shown by the admin API and
`aigw logs`; a group without capture keeps none."""

import subprocess
import sys

import openai

from .conftest import Gateway

CAP = 400

YAML = f"""
model_groups:
  - name: gpt-4o-mini
    deployments: [{{provider: mock}}]
    capture: {{enabled: true, max_bytes: {CAP}}}
  - name: text-embedding-3-small
    deployments: [{{provider: mock}}]
tenants:
  - name: default
    apps: [{{name: demo}}]
"""


def test_bodies_are_captured_redacted_and_capped_per_model_group(tmp_path):
    gw = Gateway(tmp_path, YAML, workers=2)
    key = gw.new_key()
    gw.start()
    try:
        api = openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0)
        secret = api.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "remember this"}],
            extra_body={"metadata": {"password": "hunter2", "note": "visible"}},
        )
        long = api.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "word " * 400}]
        )
        stream = api.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "stream it"}], stream=True
        )
        for _ in stream.parse():
            pass
        embed = api.embeddings.with_raw_response.create(model="text-embedding-3-small", input="not kept")
        ids = {
            name: r.headers["x-request-id"]
            for name, r in (("secret", secret), ("long", long), ("stream", stream), ("embed", embed))
        }
        # Records reach the store within a flush interval: ask again, a round trip at a time.
        calls = {}
        for _ in range(2000):
            for name, rid in ids.items():
                found = gw.admin("GET", "/admin/calls", params={"request_id": rid}).json()["calls"]
                if found:
                    calls[name] = found[0]
            if len(calls) == len(ids):
                break
    finally:
        assert gw.stop() == 0
    assert len(calls) == len(ids)

    request = calls["secret"]["request_body"]
    assert '"password":"[REDACTED]"' in request and "hunter2" not in request
    assert '"note":"visible"' in request and "remember this" in request
    assert "Mock reply: remember this" in calls["secret"]["response_body"]

    cut = calls["long"]["request_body"]
    body, note = cut.split("…")
    assert len(body.encode()) <= CAP and note.endswith(" more bytes]")
    assert int(note[1:].split()[0]) > 1000  # the 2,000-character prompt was cut, and says so

    assert calls["stream"]["response_body"].startswith("data: {")
    assert (calls["embed"]["request_body"], calls["embed"]["response_body"]) == ("", "")

    out = subprocess.run(
        [sys.executable, "-m", "gateway", "logs", "--config", str(gw.config), "--request-id", ids["secret"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert '    request: {"model":"gpt-4o-mini"' in out and "hunter2" not in out
