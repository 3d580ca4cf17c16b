"""Tracing as the request path sees it: a span per request and per upstream attempt, retry and
fallback decisions as events. `start_tracing` returns None when `tracing.otlp_endpoint` is empty:
then the request path does nothing but check that, and nothing of OpenTelemetry is imported (it
is an optional extra, `aigw[otel]`; gateway/telemetry/otel.py is imported only here, only when on).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Protocol

from ..config.observability import TracingConfig

if TYPE_CHECKING:
    from ..calllog.record import CallRecord
    from .traceparent import TraceParent


class RequestSpan(Protocol):
    trace_id: str  # 32 hex digits: the access log's, so its lines find their traces

    def attempt_started(self, provider: str, key_id: str, model: str) -> bytes:
        """A span for the upstream attempt starting now; the `traceparent` header line (CRLF
        ended) that makes it the upstream's parent."""

    def attempt_ended(self, status: int, outcome: str) -> None: ...

    def event(self, name: str, reason: str, to: str) -> None:
        """A decision: `retry` on another key, or `fallback` to another model group."""

    def end(self, rec: CallRecord, group: str) -> None: ...


class Tracing(Protocol):
    def request(self, method: str, path: str, parent: TraceParent | None, request_id: str) -> RequestSpan: ...

    def close(self) -> None:
        """Export what is waiting (graceful shutdown)."""


class TracingUnavailable(Exception):
    """Tracing is configured but the `otel` extra is not installed; the message says how."""


def start_tracing(cfg: TracingConfig) -> Tracing | None:
    if not cfg.otlp_endpoint:
        return None
    check_available()
    from .otel import OtelTracing

    return OtelTracing(cfg)


def check_available() -> None:
    """Raise TracingUnavailable when the packages tracing needs are missing (without importing
    them: a node checks this before it starts its workers)."""
    for module in ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise TracingUnavailable(
                "tracing.otlp_endpoint is set, but OpenTelemetry is not installed: "
                "pip install 'aigw[otel]' (or leave tracing.otlp_endpoint empty)"
            )
