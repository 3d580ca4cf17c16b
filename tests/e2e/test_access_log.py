"""The access log of a real node: one JSON line per request on stdout, with the fields an operator
needs, on every outcome — 200, refused before forwarding (401, 404), 429 from the pool, 502, 504,
a client that left mid-stream — the caller's W3C trace id on it and its traceparent passed on,
and no secret on any line the node writes (the access log, and its log lines at debug level)."""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from .conftest import ADMIN_TOKEN, Gateway, free_port, start_upstream_mock, stop_upstream_mock

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Recorder(BaseHTTPRequestHandler):
    """An OpenAI-compatible upstream that notes each request's traceparent."""

    seen: list[str | None] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        Recorder.seen.append(self.headers.get("traceparent"))
        body = json.dumps(
            {
                "id": "c1",
                "object": "chat.completion",
                "created": 1,
                "model": "gpt-4o-mini",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_one_line_per_request_on_every_outcome_and_never_a_secret(tmp_path):
    traced = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=traced.serve_forever, daemon=True).start()
    slow, slow_url = start_upstream_mock("--key", "slow=sk-slow-secret", "--latency-ms", "5000")
    gw = Gateway(
        tmp_path,
        f"""
  - name: limited
    type: mock
    keys: [{{id: only, value: sk-limited-secret}}]
    mock: {{rpm: 1}}
  - name: down
    type: openai
    base_url: http://127.0.0.1:{free_port()}/v1
    keys: [{{id: d, value: sk-down-secret}}]
  - name: slow
    type: openai
    base_url: {slow_url}/v1
    timeout_s: 0.5
    keys: [{{id: s, value: sk-slow-secret}}]
  - name: traced
    type: openai
    base_url: http://127.0.0.1:{traced.server_address[1]}/v1
    keys: [{{id: t, value: sk-traced-secret}}]
  - name: streaming
    type: mock
    keys: [{{id: st, value: sk-streaming-secret}}]
    mock: {{stream_chunks: 200, chunk_interval_ms: 20}}
model_groups:
  - {{name: ok, deployments: [{{provider: mock, model: gpt-4o-mini}}]}}
  - {{name: limited, deployments: [{{provider: limited, model: gpt-4o-mini}}]}}
  - {{name: down, deployments: [{{provider: down}}], max_attempts: 1}}
  - {{name: slow, deployments: [{{provider: slow, model: gpt-4o-mini}}], max_attempts: 1}}
  - {{name: traced, deployments: [{{provider: traced, model: gpt-4o-mini}}]}}
  - {{name: stream, deployments: [{{provider: streaming, model: gpt-4o-mini}}]}}
tenants:
  - name: acme
    apps: [{{name: tools}}]
logging: {{format: json, level: debug, access_log: on}}
""",
        workers=2,
        capture_log=True,
    )
    key = gw.new_key("tools")
    gw.start()
    expected: dict[str, tuple[int, str]] = {}  # request id -> (status, what)
    try:
        with httpx.Client(base_url=gw.base_url, timeout=30) as client:
            auth = {"Authorization": f"Bearer {key}"}

            def chat(model: str, what: str, headers: dict[str, str] | None = None) -> httpx.Response:
                body = {"model": model, "messages": [{"role": "user", "content": "hello"}]}
                r = client.post("/v1/chat/completions", json=body, headers=headers or auth)
                expected[r.headers["x-request-id"]] = (r.status_code, what)
                return r

            assert chat("ok", "ok").status_code == 200
            assert (
                chat("ok", "bad key", {"Authorization": "Bearer sk-not-a-real-key-0123456789"}).status_code
                == 401
            )
            assert chat("nonexistent", "unknown model").status_code == 404
            assert chat("limited", "first of the minute").status_code == 200
            assert chat("limited", "pool").status_code == 429
            assert chat("down", "unreachable").status_code == 502
            assert chat("slow", "timeout").status_code == 504
            assert chat("traced", "traced", {**auth, "traceparent": TRACEPARENT}).status_code == 200
            # An admin call and a key made through the admin API: neither token nor key is logged.
            made = httpx.post(
                gw.admin_url + "/admin/keys",
                json={"app": "tools", "tenant": "acme"},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            ).json()["key"]
        # A client that leaves mid-stream.
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
        body = b'{"model": "stream", "stream": true, "messages": [{"role": "user", "content": "go"}]}'
        conn.request("POST", "/v1/chat/completions", body, {"Authorization": f"Bearer {key}"})
        resp = conn.getresponse()
        expected[resp.getheader("x-request-id")] = (499, "left")  # as nginx logs a caller that left
        resp.readline()
        conn.sock.close()
        conn.close()
    finally:
        code, out, err = gw.finish()
        stop_upstream_mock(slow)
        traced.shutdown()
        traced.server_close()
    assert code == 0

    lines = [json.loads(line) for line in out.splitlines()]
    by_id = {}
    for line in lines:
        assert line["request_id"] not in by_id, f"two lines for {line['request_id']}"
        by_id[line["request_id"]] = line
    assert set(by_id) == set(expected), (sorted(by_id), sorted(expected))
    for rid, (status, what) in expected.items():
        assert by_id[rid]["status"] == status, (what, by_id[rid])
    lines_by_what = {what: by_id[rid] for rid, (_, what) in expected.items()}

    ok = lines_by_what["ok"]
    assert {k: ok[k] for k in ("method", "path", "route", "tenant", "app", "model", "model_group")} == {
        "method": "POST",
        "path": "/v1/chat/completions",
        "route": "chat",
        "tenant": "acme",
        "app": "tools",
        "model": "ok",
        "model_group": "ok",
    }
    assert ok["key_id"].startswith("key_") and ok["deployment"] == "mock/gpt-4o-mini"
    assert ok["upstream_key"] in ("mock-key-1", "mock-key-2")
    assert (ok["attempts"], ok["upstream_status"]) == (1, 200)
    assert ok["bytes_in"] > 0 and ok["bytes_out"] > 0 and ok["prompt_tokens"] > 0
    assert 0 <= ok["ttfb_ms"] <= ok["latency_ms"] and ok["time"].endswith("Z")

    assert (
        lines_by_what["bad key"]["error"] == "invalid_api_key" and "attempts" not in lines_by_what["bad key"]
    )
    assert lines_by_what["unknown model"]["error"] == "model_not_found"
    assert lines_by_what["pool"]["error"] == "upstream_capacity_exhausted"
    assert lines_by_what["pool"]["tenant"] == "acme"
    assert lines_by_what["unreachable"]["upstream_status"] == 0
    assert lines_by_what["unreachable"]["error"] == "upstream_unreachable"
    assert lines_by_what["timeout"]["error"] == "upstream_timeout"
    left = lines_by_what["left"]
    assert (left["client_left"], left["streamed"]) == (True, True) and left["bytes_out"] > 0
    # The caller's trace id on its line, and its traceparent passed on to the upstream unchanged.
    assert lines_by_what["traced"]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert Recorder.seen == [TRACEPARENT]

    # Log lines are JSON too; not one line of either stream holds a secret.
    assert err.strip(), "the node logged nothing at debug level"
    for line in err.splitlines():
        json.loads(line)
    secrets = [
        key,
        made,
        ADMIN_TOKEN,
        "sk-not-a-real-key-0123456789",
        "sk-mock-secret-1",
        "sk-mock-secret-2",
        *(f"sk-{name}-secret" for name in ("limited", "down", "slow", "traced", "streaming")),
    ]
    for secret in secrets:
        assert secret not in out and secret not in err, f"a secret was logged: {secret[:6]}…"
