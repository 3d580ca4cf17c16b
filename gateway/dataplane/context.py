"""One request as a worker serves it: how to answer it and what the call log learns, and once
admitted, what goes upstream. The steps that answer a request take this one object instead of a
dozen arguments each, and every answer and error goes out through it, which notes the response
on the trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..admission import Rejection
from ..calllog.trace import StreamTransport, Trace
from ..errors import GatewayError
from .limit_headers import rejection_headers

if TYPE_CHECKING:
    from granian.rsgi import HTTPProtocol

    from ..admission import AdmissionTable, Decision
    from .caller import Caller
    from .exchange import Exchange

JSON = ("content-type", "application/json")
Headers = list[tuple[str, str]]


class RequestContext:
    __slots__ = (
        "caller", "decision", "exchange", "headers", "on_answer", "proto", "table", "trace",
        "upstream_headers",
    )  # fmt: skip

    # Set once the request is admitted (Gateway._handle), before it goes upstream.
    table: AdmissionTable  # the tables this request started with (a reload swaps in new ones)
    decision: Decision
    exchange: Exchange

    def __init__(
        self,
        proto: HTTPProtocol,
        trace: Trace,
        caller: Caller,
        headers: Headers,
        on_answer: Callable[[Trace], None] | None = None,
    ) -> None:
        self.proto = proto  # granian's: read the body from it; answer through the methods below
        self.trace = trace
        self.caller = caller  # the API format the caller speaks
        self.headers = headers  # sent with every answer: the request id, later a service's and limits'
        # Told of a whole answer before it is handed to granian: the call is recorded then, so a
        # record journaled there (gateway/calllog/journal.py) exists for every answer a caller can
        # have received, whatever happens to the process next.
        self.on_answer = on_answer
        # Header lines every attempt sends upstream besides the exchange's: the caller's W3C
        # trace context, passed on (with tracing on, each attempt's span replaces its traceparent).
        self.upstream_headers = b""

    def answer(self, status: int, body: bytes, extra: Headers | None = None) -> None:
        """A JSON answer, already in the caller's format."""
        self.trace.answered(status, body)
        if self.on_answer is not None:
            self.on_answer(self.trace)
        headers = [*self.headers, JSON, *extra] if extra else [*self.headers, JSON]
        self.proto.response_bytes(status, headers, body)

    def stream(self, content_headers: Headers) -> StreamTransport:
        """Start a 200 event stream; its events go out through what this returns."""
        transport = self.proto.response_stream(200, [*self.headers, *content_headers])
        return self.trace.streaming(transport)

    def fail(self, err: GatewayError) -> None:
        """Answer with `err` in the caller's format (with Retry-After when it says when), and note
        it for the call log."""
        scope = err.limit_scope if isinstance(err, Rejection) else ""
        self.trace.failed(err.type, err.code, scope)
        self.answer(err.status, self.caller.error(err), rejection_headers(err))
