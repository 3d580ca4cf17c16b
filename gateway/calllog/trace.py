"""What the request path learns about a call as it goes, turned into one CallRecord at the end.

A Trace is created when the request arrives; admission, each upstream attempt and the response
fill it in; `record()` builds the immutable record. `ResponseSpy` wraps granian's RSGI protocol
object so the status and the time to first byte are noted wherever a response is started,
without touching every call site.
"""

from __future__ import annotations

import time
from typing import Any

from .capture import Capture
from .pricing import PriceTable
from .record import Attempt, CallRecord, limit_scope


class Trace:
    __slots__ = (
        "_t0",
        "app",
        "attempts",
        "cached_tokens",
        "capture",
        "client",
        "completion_tokens",
        "deployment",
        "error_code",
        "error_type",
        "key_id",
        "limit_scope",
        "model",
        "prompt_tokens",
        "provider",
        "request_id",
        "request_raw",
        "response_raw",
        "route",
        "served_model",
        "status",
        "streamed",
        "tenant",
        "ts",
        "ttfb_ms",
        "upstream_key",
        "upstream_ms",
        "user_agent",
    )

    def __init__(self, request_id: str, client: str = "", user_agent: str = ""):
        self.request_id = request_id
        self.ts = time.time()
        self._t0 = time.perf_counter()
        self.client = client
        self.user_agent = user_agent
        self.tenant = self.app = self.key_id = self.route = self.model = ""
        self.served_model = self.provider = self.deployment = self.upstream_key = ""
        self.error_type = self.error_code = self.limit_scope = ""
        self.attempts: list[Attempt] = []
        self.status = 0
        self.upstream_ms: float | None = None
        self.ttfb_ms: float | None = None
        self.prompt_tokens = self.completion_tokens = self.cached_tokens = 0
        self.streamed = False
        # Body capture: set (with the request body) when the call's model group captures.
        self.capture: Capture | None = None
        self.request_raw = self.response_raw = b""

    def capturing(self, capture: Capture, request_body: bytes) -> None:
        self.capture, self.request_raw = capture, request_body

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self._t0) * 1000

    def admitted(self, tenant: str, app: str, key_id: str, route: str, model: str) -> None:
        self.tenant, self.app, self.key_id, self.route, self.model = tenant, app, key_id, route, model

    def failed(self, error_type: str, error_code: str, message: str = "") -> None:
        """The caller gets an error: its type and code (a 429's message names the limit)."""
        self.error_type, self.error_code = error_type, error_code
        self.limit_scope = limit_scope(error_code, message)

    def attempt(
        self, provider: str, key_id: str, upstream_model: str, status: int, outcome: str, started: float
    ) -> None:
        """One upstream try, `started` = time.perf_counter() when it was sent. The last attempt
        names the provider, key and model that served (or last failed)."""
        latency = (time.perf_counter() - started) * 1000
        self.attempts.append(
            Attempt(provider=provider, key_id=key_id, status=status, outcome=outcome, latency_ms=latency)
        )
        self.upstream_ms = (self.upstream_ms or 0.0) + latency
        self.provider, self.upstream_key, self.served_model = provider, key_id, upstream_model
        self.deployment = f"{provider}/{upstream_model}"

    def usage(self, prompt: int, completion: int, cached: int = 0) -> None:
        """The response's token counts; `prompt` includes `cached` (OpenAI's convention)."""
        self.prompt_tokens, self.completion_tokens, self.cached_tokens = prompt, completion, cached

    def responded(self, status: int, streamed: bool = False) -> None:
        if self.ttfb_ms is None:
            self.ttfb_ms = self.elapsed_ms()
            self.status = status
            self.streamed = streamed

    def cost(self, prices: PriceTable) -> float:
        """USD at `prices` for the usage so far, priced by the model that served."""
        if not (self.prompt_tokens or self.completion_tokens):
            return 0.0
        model = self.served_model or self.model
        return prices.cost(model, self.prompt_tokens, self.completion_tokens, self.cached_tokens)

    def record(self, prices: PriceTable | None = None) -> CallRecord:
        latency = self.elapsed_ms()
        cost = 0.0 if prices is None else self.cost(prices)
        capture = self.capture
        return CallRecord(
            request_id=self.request_id,
            ts=self.ts,
            ts_end=self.ts + latency / 1000,
            tenant=self.tenant,
            app=self.app,
            key_id=self.key_id,
            route=self.route,
            model=self.model,
            served_model=self.served_model,
            provider=self.provider,
            deployment=self.deployment,
            upstream_key=self.upstream_key,
            attempts=self.attempts,
            status=self.status,
            error_type=self.error_type,
            error_code=self.error_code,
            limit_scope=self.limit_scope,
            latency_ms=latency,
            upstream_ms=self.upstream_ms,
            ttfb_ms=self.ttfb_ms,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cached_tokens=self.cached_tokens,
            total_tokens=self.prompt_tokens + self.completion_tokens,
            cost=cost,
            streamed=self.streamed,
            client=self.client,
            user_agent=self.user_agent,
            request_body=capture.render(self.request_raw) if capture is not None else "",
            response_body=capture.render(self.response_raw) if capture is not None else "",
        )


class ResponseSpy:
    """Stands in for granian's RSGI protocol object: notes the status and first-byte time of the
    response on the trace, passes everything through."""

    __slots__ = ("_proto", "_trace")

    def __init__(self, proto: Any, trace: Trace):
        self._proto = proto
        self._trace = trace

    def response_bytes(self, status: int, headers: Any, body: bytes) -> None:
        self._trace.responded(status)
        if self._trace.capture is not None:
            self._trace.response_raw = body
        self._proto.response_bytes(status, headers, body)

    def response_str(self, status: int, headers: Any, body: str) -> None:
        self._trace.responded(status)
        if self._trace.capture is not None:
            self._trace.response_raw = body.encode()
        self._proto.response_str(status, headers, body)

    def response_empty(self, status: int, headers: Any) -> None:
        self._trace.responded(status)
        self._proto.response_empty(status, headers)

    def response_stream(self, status: int, headers: Any) -> Any:
        self._trace.responded(status, streamed=True)
        transport = self._proto.response_stream(status, headers)
        return transport if self._trace.capture is None else _StreamCapture(transport, self._trace)

    def __call__(self) -> Any:
        return self._proto()

    def __aiter__(self) -> Any:
        return self._proto.__aiter__()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._proto, name)


class _StreamCapture:
    """Stands in for a response stream while its model group captures bodies: keeps the first
    bytes sent (as many as the capture can use), passes everything through."""

    __slots__ = ("_trace", "_transport")

    def __init__(self, transport: Any, trace: Trace):
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

    async def send_str(self, data: str) -> None:
        self._keep(data.encode())
        await self._transport.send_str(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
