"""Provider key state read from the node's shared region, for the admin API."""

from __future__ import annotations

import time
from typing import Any

from ..admission.layout import key_id
from ..config.schema import Config
from .routes import UpstreamKeyState


class UpstreamKeys:
    def __init__(self, cfg: Config, region: Any):
        self._region = region
        self._keys = [
            (p.name, k.id, region.key_slot(key_id(p.name, k.id))) for p in cfg.providers for k in p.keys
        ]

    def states(self) -> list[UpstreamKeyState]:
        now = time.monotonic_ns()
        out = []
        for provider, key, slot in self._keys:
            until = self._region.cool_until(slot)
            cooling = until > now
            out.append(
                UpstreamKeyState(
                    provider=provider,
                    key_id=key,
                    state="cooling" if cooling else "healthy",
                    cooling_for_s=round((until - now) / 1e9, 3) if cooling else None,
                    in_flight=self._region.in_flight(slot),
                )
            )
        return out
