"""Config sections for call logging, retention and prices (embedded in gateway/config/schema.py as
`calllog:` and `pricing:`; documented in docs/observability.md)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from .capture import CaptureConfig
from .pricing import ModelPrice, PriceTable
from .store import Retention


class CallLogConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True
    # Records buffered per worker; past this they are dropped and counted (aigw_calllog_dropped_total).
    buffer_size: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    # The longest a record waits in memory: what a crashed worker can lose.
    flush_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    # Write at once when this many are waiting.
    batch_size: Annotated[int, msgspec.Meta(ge=1)] = 500
    retention: Retention = msgspec.field(default_factory=Retention)
    # Request and response bodies kept with each record (off by default); a model group's own
    # `capture:` replaces this for its calls.
    capture: CaptureConfig = msgspec.field(default_factory=CaptureConfig)


class PricingConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # USD per 1M tokens by model name; a dated snapshot ("gpt-4o-2024-08-06") uses its model's.
    models: dict[str, ModelPrice] = msgspec.field(default_factory=dict)
    # False: only the models listed here have a price (the shipped defaults are ignored).
    defaults: bool = True

    def table(self) -> PriceTable:
        return PriceTable(self.models, defaults=self.defaults)
