"""OpenTelemetry traces, for `tracing:` (imported only when it is on; gateway/telemetry/tracing.py).

Each worker has its own tracer provider (never the global one) with a batch span processor: a span
that ends is queued in memory and exported over OTLP/HTTP (protobuf) by the processor's thread,
in batches, so the event loop never waits on the collector. A full queue drops spans (the SDK
counts and logs it), never requests. Sampling: a caller's `traceparent` decides for its traces
(sampled or not); traces that start here are recorded at `tracing.sample_ratio`.

Spans: `aigw <route>` (SERVER) per request, its parent the caller's span when it sent a valid
`traceparent`; `upstream <provider>` (CLIENT) per attempt, whose id goes upstream in the
attempt's `traceparent`. Attributes name the provider, the provider key by id, the model and the
consumer by id — never a secret. A retry on another key and a fallback to another model group are
events on the request's span.
"""

from __future__ import annotations

import os

from opentelemetry import trace as api
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from .._version import __version__
from ..calllog.record import CallRecord
from ..config.observability import TracingConfig
from .traceparent import TraceParent


class OtelTracing:
    def __init__(self, cfg: TracingConfig):
        resource = Resource.create(
            {"service.name": cfg.service_name, "service.version": __version__, "process.pid": os.getpid()}
        )
        self.provider = TracerProvider(
            resource=resource, sampler=ParentBased(TraceIdRatioBased(cfg.sample_ratio))
        )
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=cfg.otlp_endpoint)))
        self.tracer = self.provider.get_tracer("aigw", __version__)

    def request(self, method: str, path: str, parent: TraceParent | None, request_id: str) -> OtelRequestSpan:
        context = None
        if parent is not None:
            remote = SpanContext(
                int(parent.trace_id, 16),
                int(parent.parent_id, 16),
                is_remote=True,
                trace_flags=TraceFlags(parent.flags),
            )
            context = api.set_span_in_context(NonRecordingSpan(remote))
        span = self.tracer.start_span(
            f"aigw {method} {path}",
            context=context,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path, "aigw.request_id": request_id},
        )
        return OtelRequestSpan(self.tracer, span)

    def close(self) -> None:
        self.provider.shutdown()  # the batch processor exports what it holds


class OtelRequestSpan:
    __slots__ = ("_attempt", "_span", "_tracer", "trace_id")

    def __init__(self, tracer: api.Tracer, span: api.Span):
        self._tracer = tracer
        self._span = span
        self._attempt: api.Span | None = None
        self.trace_id = f"{span.get_span_context().trace_id:032x}"

    def attempt_started(self, provider: str, key_id: str, model: str) -> bytes:
        attempt = self._tracer.start_span(
            f"upstream {provider}",
            context=api.set_span_in_context(self._span),
            kind=SpanKind.CLIENT,
            attributes={
                "aigw.provider": provider,
                "aigw.upstream_key": key_id,
                "gen_ai.request.model": model,
            },
        )
        self._attempt = attempt
        ctx = attempt.get_span_context()
        return b"traceparent: 00-%032x-%016x-%02x\r\n" % (ctx.trace_id, ctx.span_id, ctx.trace_flags)

    def attempt_ended(self, status: int, outcome: str) -> None:
        attempt = self._attempt
        if attempt is None:
            return
        self._attempt = None
        attempt.set_attribute("http.response.status_code", status)
        attempt.set_attribute("aigw.outcome", outcome)
        if outcome != "ok":
            attempt.set_status(Status(StatusCode.ERROR, outcome))
        attempt.end()

    def event(self, name: str, reason: str, to: str) -> None:
        self._span.add_event(name, {"aigw.reason": reason, "aigw.to": to})

    def end(self, rec: CallRecord, group: str) -> None:
        span = self._span
        span.set_attributes(
            {
                "http.response.status_code": rec.status,
                "aigw.route": rec.route,
                "aigw.tenant": rec.tenant,
                "aigw.app": rec.app,
                "aigw.key_id": rec.key_id,
                "gen_ai.request.model": rec.model,
                "aigw.model_group": group,
                "aigw.provider": rec.provider,
                "aigw.upstream_key": rec.upstream_key,
                "aigw.attempts": len(rec.attempts),
                "gen_ai.usage.input_tokens": rec.prompt_tokens,
                "gen_ai.usage.output_tokens": rec.completion_tokens,
            }
        )
        if rec.error_code:
            span.set_attribute("aigw.error", rec.error_code)
        if rec.status >= 500:
            span.set_status(Status(StatusCode.ERROR, rec.error_code or str(rec.status)))
        self.attempt_ended(0, "unfinished")  # an attempt a failure left open
        span.end()
