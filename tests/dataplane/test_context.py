"""Every answer leaves through the request context: in the caller's format, with the headers every
answer carries, noted once on the trace for the call log."""

from __future__ import annotations

import json

from gateway.admission.rejections import pool_exhausted
from gateway.calllog.pricing import PriceTable
from gateway.calllog.trace import Trace
from gateway.dataplane.caller import OPENAI, AnthropicCaller
from gateway.dataplane.context import RequestContext
from gateway.errors import GatewayError


class Proto:
    """granian's protocol object, as far as the context answers through it."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, dict[str, str], bytes]] = []

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.sent.append((status, dict(headers), body))

    def response_stream(self, status: int, headers: list[tuple[str, str]]) -> str:
        self.sent.append((status, dict(headers), b""))
        return "transport"


def context(caller=OPENAI) -> tuple[RequestContext, Proto, Trace]:
    proto, trace = Proto(), Trace("req_1")
    return RequestContext(proto, trace, caller, [("x-request-id", "req_1")]), proto, trace  # type: ignore[arg-type]


def test_a_refusal_says_when_to_retry_and_whose_limit_refused():
    ctx, proto, trace = context()
    ctx.fail(pool_exhausted("mini", 2_500_000_000))
    ((status, headers, body),) = proto.sent
    assert status == 429 and headers["x-request-id"] == "req_1"
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("3", "2500")
    assert json.loads(body)["error"]["code"] == "upstream_capacity_exhausted"
    rec = trace.record(PriceTable())
    assert (rec.status, rec.error_code, rec.limit_scope) == (429, "upstream_capacity_exhausted", "pool")


def test_an_error_is_rendered_in_the_callers_format():
    ctx, proto, trace = context(AnthropicCaller("claude"))
    ctx.fail(GatewayError(400, "invalid_request_error", "unsupported_parameter", "No.", "tools.0"))
    ((status, headers, body),) = proto.sent
    assert status == 400 and "retry-after" not in headers
    assert json.loads(body) == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "tools.0: No."},
    }
    assert trace.record().error_code == "unsupported_parameter"


def test_the_first_answer_is_the_one_the_call_log_keeps():
    ctx, proto, trace = context()
    assert ctx.stream([("content-type", "text/event-stream")]) == "transport"
    ctx.answer(500, b"{}")  # cannot replace a stream that has started
    rec = trace.record()
    assert (rec.status, rec.streamed) == (200, True) and rec.ttfb_ms is not None
    assert proto.sent[0][1]["content-type"] == "text/event-stream"
