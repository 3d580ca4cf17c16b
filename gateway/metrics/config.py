"""The `metrics:` config section (embedded in gateway/config/schema.py)."""

from __future__ import annotations

from typing import Annotated

import msgspec


class MetricsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True
    # How often each worker publishes to the node's metrics directory (staleness of /metrics).
    flush_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    # Distinct model names used as label values per worker; more are counted as "other".
    max_model_labels: Annotated[int, msgspec.Meta(ge=1)] = 512
