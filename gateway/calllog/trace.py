"""What the request path learns about a call as it goes, turned into one CallRecord at the end.

A Trace is created when the request arrives; admission, each upstream attempt and the response
fill it in (the data plane's answers all go through its RequestContext, which notes the first
on the trace: `answered`, `streaming`); `record()` builds the immutable record.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any, Protocol

from .capture import Capture
from .pricing import PriceTable
from .record import Attempt, CallRecord

# What the record says of a caller that closed its connection before its answer was done, as
# nginx logs it: 499 "client closed request", whatever status had gone out.
CLIENT_CLOSED = 499
CLIENT_CLOSED_CODE = "client_closed_request"


class StreamTransport(Protocol):
    """granian's response stream, as far as the gateway uses it."""

    def send_bytes(self, data: bytes) -> Awaitable[None]: ...


class Trace:
    """Fills in the request's CallRecord as the request goes: the record is made once, when the
    request arrives, and handed over as it is by `record()` (no second object of 28 fields)."""

    __slots__ = (
        "_priced",
        "_t0",
        "bytes_in",
        "bytes_out",
        "capture",
        "group",
        "left",
        "method",
        "path",
        "rec",
        "recorded",
        "request_raw",
        "response_raw",
        "span",
        "trace_id",
    )

    def __init__(
        self,
        request_id: str,
        client: str = "",
        user_agent: str = "",
        route: str = "",
        method: str = "",
        path: str = "",
    ):
        ts = time.time()
        self._t0 = time.perf_counter()
        self.rec = CallRecord(
            request_id=request_id,
            ts=ts,
            ts_end=ts,
            status=0,
            latency_ms=0.0,
            route=route,
            client=client,
            user_agent=user_agent,
        )
        self._priced = False  # rec.cost holds the final usage's cost (priced once per request)
        self.recorded = False  # handed to the call log already (as its whole answer went out)
        # Body capture: set (with the request body) when the call's model group captures.
        self.capture: Capture | None = None
        self.request_raw = self.response_raw = b""
        # For the access log (gateway/telemetry/access.py); not kept in the call record.
        self.method, self.path = method, path
        self.group = ""  # the model group that served (an alias's group)
        self.bytes_in = self.bytes_out = 0
        self.left = False  # the caller closed the connection before the end (client_left)
        self.trace_id = ""  # the caller's W3C trace id
        self.span: Any = None  # the request's span when tracing is on (gateway/telemetry/tracing.py)

    def capturing(self, capture: Capture, request_body: bytes) -> None:
        self.capture, self.request_raw = capture, request_body

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self._t0) * 1000

    def admitted(self, tenant: str, app: str, key_id: str) -> None:
        """Whose call it is (the route and the model asked for are on the record already)."""
        rec = self.rec
        rec.tenant, rec.app, rec.key_id = tenant, app, key_id

    def failed(self, error_type: str, error_code: str, limit_scope: str = "") -> None:
        """The caller gets an error: its type and code, and whose limit refused it, if one did."""
        rec = self.rec
        rec.error_type, rec.error_code, rec.limit_scope = error_type, error_code, limit_scope

    def client_left(self) -> None:
        """The caller closed its connection before its answer was done (mid-stream)."""
        self.left = True
        rec = self.rec
        rec.status = CLIENT_CLOSED
        rec.error_type, rec.error_code = "invalid_request_error", CLIENT_CLOSED_CODE

    def attempt(
        self, provider: str, key_id: str, upstream_model: str, status: int, outcome: str, started: float
    ) -> None:
        """One upstream try, `started` = time.perf_counter() when it was sent. The last attempt
        names the provider, key and model that served (or last failed)."""
        latency = (time.perf_counter() - started) * 1000
        if self.span is not None:
            self.span.attempt_ended(status, outcome)
        rec = self.rec
        rec.attempts.append(
            Attempt(provider=provider, key_id=key_id, status=status, outcome=outcome, latency_ms=latency)
        )
        rec.upstream_ms = latency if rec.upstream_ms is None else rec.upstream_ms + latency
        rec.provider, rec.upstream_key, rec.served_model = provider, key_id, upstream_model
        rec.deployment = f"{provider}/{upstream_model}"

    def params(self, dropped: tuple[str, ...], clamped: tuple[str, ...]) -> None:
        """What the attempt's target did to the caller's parameters (gateway/models/params.py)."""
        rec = self.rec
        rec.dropped_params, rec.clamped_params = ", ".join(dropped), ", ".join(clamped)

    def usage(self, prompt: int, completion: int, cached: int = 0) -> None:
        """The response's token counts; `prompt` includes `cached` (OpenAI's convention)."""
        rec = self.rec
        rec.prompt_tokens, rec.completion_tokens, rec.cached_tokens = prompt, completion, cached

    def answered(self, status: int, body: bytes) -> None:
        """An answer went out: the first one's status and time to first byte count (an error
        after a stream started does not replace them), and its body when the group captures."""
        rec = self.rec
        if rec.ttfb_ms is None:
            rec.ttfb_ms = (time.perf_counter() - self._t0) * 1000
            rec.status = status
        self.bytes_out += len(body)
        if self.capture is not None:
            self.response_raw = body

    def streaming(self, transport: StreamTransport) -> StreamTransport:
        """A 200 event stream started on `transport`; what to send its events through (it keeps
        the first bytes when the group captures)."""
        rec = self.rec
        if rec.ttfb_ms is None:
            rec.ttfb_ms = (time.perf_counter() - self._t0) * 1000
            rec.status = 200
            rec.streamed = True
        return transport if self.capture is None else _StreamCapture(transport, self)

    def cost(self, prices: PriceTable) -> float:
        """USD at `prices` for the final usage, priced by the model that served (kept for the
        record: the data plane prices it once, to settle cost budgets). Priced once: the record
        of a whole answer is made before the budgets settle, and either may come first."""
        rec = self.rec
        if self._priced:
            return rec.cost
        prompt, completion = rec.prompt_tokens, rec.completion_tokens
        rec.cost = (
            prices.cost(rec.served_model or rec.model, prompt, completion, rec.cached_tokens)
            if prompt or completion
            else 0.0
        )
        self._priced = True
        return rec.cost

    def record(self, prices: PriceTable | None = None) -> CallRecord:
        """The finished record: latency, end time, totals, cost and captured bodies filled in now."""
        rec = self.rec
        latency = (time.perf_counter() - self._t0) * 1000
        rec.latency_ms = latency
        rec.ts_end = rec.ts + latency / 1000
        rec.total_tokens = rec.prompt_tokens + rec.completion_tokens
        if prices is not None:
            self.cost(prices)
        capture = self.capture
        if capture is not None:
            rec.request_body = capture.render(self.request_raw)
            rec.response_body = capture.render(self.response_raw)
        return rec


class _StreamCapture:
    """Stands in for a response stream while its model group captures bodies: keeps the first
    bytes sent (as many as the capture can use) and passes them on (the relay sends bytes only)."""

    __slots__ = ("_trace", "_transport")

    def __init__(self, transport: StreamTransport, trace: Trace):
        self._transport = transport
        self._trace = trace

    def _keep(self, data: bytes) -> None:
        trace = self._trace
        room = trace.capture.keep(len(trace.response_raw)) if trace.capture is not None else 0
        if room > 0:
            trace.response_raw += data[:room]

    async def send_bytes(self, data: bytes) -> None:
        self._keep(data)
        await self._transport.send_bytes(data)
