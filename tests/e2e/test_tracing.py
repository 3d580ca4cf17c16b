"""OpenTelemetry traces from a real node to a local OTLP/HTTP receiver (protobuf, decoded with
opentelemetry-proto): a request retried on a second key is one span with two attempt spans under
it, its parent the caller's span from `traceparent`, the retry an event, and each attempt's span
the parent the upstream is told of."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from .conftest import Gateway

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP traces endpoint: keeps every span it is sent."""

    spans: list[Any] = []
    resources: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        assert self.path == "/v1/traces" and self.headers["content-type"] == "application/x-protobuf"
        request = ExportTraceServiceRequest.FromString(self.rfile.read(int(self.headers["content-length"])))
        for resource_spans in request.resource_spans:
            attrs = {a.key: a.value for a in resource_spans.resource.attributes}
            Receiver.resources.append({k: v.string_value or v.int_value for k, v in attrs.items()})
            for scope_spans in resource_spans.scope_spans:
                Receiver.spans.extend(scope_spans.spans)
        body = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Upstream(BaseHTTPRequestHandler):
    """An OpenAI-compatible upstream whose first answer is a 429 (that key cools, the request
    moves to the other key); it notes each request's key and traceparent."""

    seen: list[tuple[str, str | None]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        Upstream.seen.append((self.headers["authorization"], self.headers.get("traceparent")))
        if len(Upstream.seen) == 1:
            status, body = (
                429,
                {
                    "error": {
                        "message": "Rate limit reached",
                        "type": "requests",
                        "code": "rate_limit_exceeded",
                    }
                },
            )
        else:
            status, body = (
                200,
                {
                    "id": "c1",
                    "object": "chat.completion",
                    "created": 1,
                    "model": "gpt-4o-mini",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "hi"},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
                },
            )
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        if status == 429:
            self.send_header("retry-after", "30")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_request_retried_on_a_second_key_is_traced_under_the_callers_span(tmp_path):
    receiver, upstream = serve(Receiver), serve(Upstream)
    gw = Gateway(
        tmp_path,
        f"""
  - name: openai
    type: openai
    base_url: http://127.0.0.1:{upstream.server_address[1]}/v1
    keys:
      - {{id: first, value: sk-first}}
      - {{id: second, value: sk-second}}
model_groups:
  - {{name: chat, deployments: [{{provider: openai, model: gpt-4o-mini}}]}}
tenants:
  - name: acme
    apps: [{{name: tools}}]
tracing:
  otlp_endpoint: http://127.0.0.1:{receiver.server_address[1]}/v1/traces
  service_name: aigw-under-test
""",
        workers=1,
        capture_log=True,
    )
    key = gw.new_key("tools")
    gw.start()
    try:
        r = httpx.post(
            gw.base_url + "/v1/chat/completions",
            json={"model": "chat", "messages": [{"role": "user", "content": "hello"}]},
            headers={"Authorization": f"Bearer {key}", "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
    finally:
        code, _, err = gw.finish()  # a graceful stop exports what the batch processor holds
        receiver.shutdown()
        upstream.shutdown()
        receiver.server_close()
        upstream.server_close()
    assert code == 0, err

    by_name = {s.name: s for s in Receiver.spans}
    request = by_name["aigw POST /v1/chat/completions"]
    attempts = sorted(
        (s for s in Receiver.spans if s.name == "upstream openai"), key=lambda s: s.start_time_unix_nano
    )
    assert len(Receiver.spans) == 3 and len(attempts) == 2
    # The caller's trace, under the caller's span; the attempts under the request's span.
    assert {s.trace_id.hex() for s in Receiver.spans} == {TRACE_ID}
    assert request.parent_span_id.hex() == CALLER_SPAN
    assert all(a.parent_span_id == request.span_id for a in attempts)
    assert request.kind == request.SPAN_KIND_SERVER and attempts[0].kind == attempts[0].SPAN_KIND_CLIENT

    def attrs(span: Any) -> dict[str, Any]:
        return {a.key: a.value.string_value or a.value.int_value for a in span.attributes}

    first, second = (attrs(a) for a in attempts)
    assert (first["aigw.provider"], first["http.response.status_code"], first["aigw.outcome"]) == (
        "openai",
        429,
        "rate_limited",
    )
    assert (second["http.response.status_code"], second["aigw.outcome"]) == (200, "ok")
    assert {first["aigw.upstream_key"], second["aigw.upstream_key"]} == {"first", "second"}
    assert first["gen_ai.request.model"] == "gpt-4o-mini"
    served = attrs(request)
    assert (served["http.response.status_code"], served["aigw.attempts"], served["aigw.model_group"]) == (
        200,
        2,
        "chat",
    )
    assert (served["aigw.tenant"], served["aigw.upstream_key"]) == ("acme", second["aigw.upstream_key"])
    [retry] = [e for e in request.events if e.name == "retry"]
    event = {a.key: a.value.string_value for a in retry.attributes}
    assert event == {"aigw.reason": "rate_limited", "aigw.to": f"openai/{second['aigw.upstream_key']}"}
    # Each attempt told the upstream its own span as the parent; never the caller's key.
    assert [tp for _, tp in Upstream.seen] == [f"00-{TRACE_ID}-{a.span_id.hex()}-01" for a in attempts]
    assert Receiver.resources[0]["service.name"] == "aigw-under-test"
