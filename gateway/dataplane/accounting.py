"""What one worker does with each finished request: price it, log it, count it. One object the
data plane holds, so the request path makes one call per request and shutdown one more.

It joins the call log and the metrics, which know nothing of each other's writers."""

from __future__ import annotations

import asyncio
import logging

from ..calllog.journal import Journal
from ..calllog.pricing import PriceTable
from ..calllog.record import CallRecord
from ..calllog.recorder import Recorder
from ..calllog.store import CallLog
from ..config.observability import CallLogConfig, MetricsConfig, PricingConfig
from ..metrics.names import ACCESS_LOG_DROPPED, CALLLOG_BUFFERED
from ..metrics.worker import WorkerMetrics

log = logging.getLogger("aigw.calllog")


class Accounting:
    def __init__(
        self,
        call_log: CallLog | None,
        calllog: CallLogConfig | None = None,
        metrics: MetricsConfig | None = None,
        pricing: PricingConfig | None = None,
        metrics_dir: str | None = None,
        journal: Journal | None = None,
    ):
        calllog = calllog or CallLogConfig()
        metrics = metrics or MetricsConfig()
        pricing = pricing or PricingConfig()
        self.prices = PriceTable(pricing.models, defaults=pricing.defaults)
        self.metrics = WorkerMetrics(
            metrics_dir if metrics.enabled else None,
            flush_interval_s=metrics.flush_interval_s,
            max_label_values=metrics.max_model_labels,
        )
        self._call_log = call_log if calllog.enabled else None
        self.recorder: Recorder | None = None
        if self._call_log is not None:
            self.recorder = Recorder(
                self._call_log,
                capacity=calllog.buffer_size,
                flush_interval_s=calllog.flush_interval_s,
                batch_size=calllog.batch_size,
                on_drop=self.metrics.calllog_dropped,
                journal=journal,
            )
            recorder = self.recorder
            self.metrics.gauge_source(CALLLOG_BUFFERED, lambda: recorder.pending)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.recorder is not None:
            self.recorder.start(loop)
        self.metrics.start(loop)

    def cost(self, model: str, prompt: int, completion: int, cached: int = 0) -> float:
        return self.prices.cost(model, prompt, completion, cached)

    def finish(self, rec: CallRecord) -> None:
        """Once per request, after its last byte: buffer the record, count its metrics. Never
        blocks, never raises."""
        if self.recorder is not None:
            self.recorder.record(rec)
        self.metrics.observe(rec)

    def access_log_dropped(self, reason: str, n: int) -> None:
        """The access log's `on_drop`: lines it lost, by reason."""
        self.metrics.inc(ACCESS_LOG_DROPPED, (reason,), n)

    async def close(self) -> None:
        """Graceful shutdown: every buffered record written, metrics published a last time."""
        try:
            if self.recorder is not None:
                await self.recorder.close()
        finally:
            self.metrics.close()
            if self._call_log is not None:
                self._call_log.close()
