"""A model group's pool headroom: how much of its keys' capacity is left, from 0 (no key can
serve) to 1 (every key usable and full, or nothing known against it). For the "pool low" event
and the aigw_pool_headroom_ratio gauge."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..admission.layout import STATE_HEALTHY, key_id
from ..admission.limiter import left_in
from ..config.schema import Config


def key_headroom(record: dict[str, int], now: int) -> float:
    """0 for a key that cannot serve (cooling, exhausted, invalid, disabled); else the smaller
    share left of its provider's limits now, by what it last reported and how its limiter refills
    (gateway/admission/limiter.py); 1 when nothing is known."""
    if record["state"] != STATE_HEALTHY or record["cool_until"] > now:
        return 0.0
    share = 1.0
    for kind in ("requests", "tokens"):
        left = left_in(record, kind, now)
        if left is not None:
            share = min(share, max(0.0, left / record[f"limit_{kind}"]))
    return share


def pool_headroom(cfg: Config, keys: Iterable[tuple[Any, Any]], region: Any, now: int) -> dict[str, float]:
    """Model group -> the mean headroom of every key of its deployments' providers."""
    by_provider: dict[str, list[float]] = {}
    for provider, key in keys:
        record = region.record(region.key_slot(key_id(provider.name, key.id)))
        by_provider.setdefault(provider.name, []).append(key_headroom(record, now))
    out = {}
    for group in cfg.model_groups:
        shares = [
            h
            for name in dict.fromkeys(d.provider for d in group.deployments)
            for h in by_provider.get(name, [])
        ]
        out[group.name] = sum(shares) / len(shares) if shares else 0.0
    return out
