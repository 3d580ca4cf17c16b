"""Provider key state read from (and changed in) the node's shared region, for the admin API."""

from __future__ import annotations

import time
from typing import Any

from ..admission.layout import STATE_DISABLED, STATE_HEALTHY, STATE_NAMES, key_id
from ..config.schema import Config
from .routes import UpstreamKeyState

ACTIONS = ("disable", "enable", "reset")


class UpstreamKeys:
    def __init__(self, cfg: Config, region: Any):
        self._region = region
        self._slots = {
            (p.name, k.id): region.key_slot(key_id(p.name, k.id)) for p in cfg.providers for k in p.keys
        }

    def states(self) -> list[UpstreamKeyState]:
        now = time.monotonic_ns()
        return [self._state(provider, key, slot, now) for (provider, key), slot in self._slots.items()]

    def _state(self, provider: str, key: str, slot: int, now: int) -> UpstreamKeyState:
        r = self._region.record(slot)
        state = STATE_NAMES.get(r["state"], "unknown")
        cooling = r["state"] == STATE_HEALTHY and r["cool_until"] > now
        probing = r["state"] not in (STATE_HEALTHY, STATE_DISABLED)
        requests_known = r["reset_requests"] > now
        tokens_known = r["reset_tokens"] > now
        return UpstreamKeyState(
            provider=provider,
            key_id=key,
            state="cooling" if cooling else state,
            cooling_for_s=round((r["cool_until"] - now) / 1e9, 3) if cooling else None,
            next_probe_in_s=round(max(0, r["next_probe"] - now) / 1e9, 3) if probing else None,
            in_flight=r["in_flight"],
            remaining_requests=r["remaining_requests"] if requests_known else None,
            limit_requests=r["limit_requests"] if requests_known else None,
            remaining_tokens=r["remaining_tokens"] if tokens_known else None,
            limit_tokens=r["limit_tokens"] if tokens_known else None,
        )

    def act(self, provider: str, key: str, action: str) -> UpstreamKeyState:
        """disable: never used until enabled; enable/reset: healthy now, cooldown cleared."""
        slot = self._slots.get((provider, key))
        if slot is None:
            raise KeyError(f"no key {key!r} of provider {provider!r}")
        now = time.monotonic_ns()
        self._region.set_state(slot, STATE_DISABLED if action == "disable" else STATE_HEALTHY, now)
        if action != "disable":
            self._region.clear_cooldown(slot)
        return self._state(provider, key, slot, now)
