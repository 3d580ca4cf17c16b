"""Provider keys for the admin API: their state, read from (and changed in) the node's shared
region, and keys added, rotated and removed at runtime (in the store, secrets sealed)."""

from __future__ import annotations

import time
from typing import Any

from ..admission.layout import STATE_DISABLED, STATE_HEALTHY, STATE_NAMES, key_id
from ..admission.limiter import left_in
from ..keypool.causes import key_cause
from ..keypool.directory import KeyDirectory
from ..keypool.event_log import KeyEventLog
from ..keypool.pools import pool_headroom
from ..store import Conflict, NotFound, Store
from ..store.records import UpstreamKeyRecord
from .routes import UpstreamKeyState

ACTIONS = ("disable", "enable", "reset")


class UpstreamKeys:
    def __init__(self, directory: KeyDirectory, store: Store, region: Any, events: KeyEventLog | None = None):
        self._directory = directory
        # The node's recent key events, appended by the supervisor's watcher.
        self.events = events if events is not None else KeyEventLog()
        self._store = store
        self._region = region
        self._keys_of: tuple[object, frozenset[tuple[str, str]]] = (None, frozenset())

    @property
    def _configured(self) -> frozenset[tuple[str, str]]:
        """The keys of the config the node serves (a reload changes them)."""
        cfg = self._directory.cfg
        if self._keys_of[0] is not cfg:
            self._keys_of = (cfg, frozenset((p.name, k.id) for p in cfg.providers for k in p.keys))
        return self._keys_of[1]

    @property
    def _providers(self) -> set[str]:
        return {p.name for p in self._directory.cfg.providers}

    def _slots(self) -> dict[tuple[str, str], int]:
        return {(p.name, k.id): self._slot(p.name, k.id) for p, k in self._directory.current()}

    def _slot(self, provider: str, key: str) -> int:
        return int(self._region.key_slot(key_id(provider, key)))

    def states(self) -> list[UpstreamKeyState]:
        now = time.monotonic_ns()
        return [self._state(provider, key, slot, now) for (provider, key), slot in self._slots().items()]

    def pool_headroom(self) -> dict[str, float]:
        return pool_headroom(
            self._directory.cfg, self._directory.current(), self._region, time.monotonic_ns()
        )

    def add(self, provider: str, key: str, secret: str) -> UpstreamKeyRecord:
        """A new key for `provider`, used by every worker within `reload_interval_s`."""
        if provider not in self._providers:
            raise NotFound(f"no provider {provider!r} in the config")
        if (provider, key) in self._configured:
            raise Conflict(f"provider {provider!r} already has a key {key!r} in the config file")
        record = self._store.add_upstream_key(provider, key, secret)
        # The id may have served before (removed, then added again): the new key starts afresh.
        self._restore(self._slot(provider, key))
        return record

    def rotate(self, provider: str, key: str, secret: str) -> UpstreamKeyRecord:
        """A new secret under the same id; a key refused or out of quota gets a fresh try."""
        self._check_stored(provider, key)
        record = self._store.rotate_upstream_key(provider, key, secret)
        self._restore(self._slot(provider, key))
        return record

    def remove(self, provider: str, key: str) -> UpstreamKeyRecord:
        self._check_stored(provider, key)
        return self._store.remove_upstream_key(provider, key)

    def _check_stored(self, provider: str, key: str) -> None:
        if (provider, key) in self._configured:
            raise Conflict(
                f"key {key!r} of provider {provider!r} comes from the config file: change it there"
            )

    def _restore(self, slot: int) -> None:
        self._region.set_state(slot, STATE_HEALTHY, time.monotonic_ns())
        self._region.clear_cooldown(slot)

    def _state(self, provider: str, key: str, slot: int, now: int) -> UpstreamKeyState:
        r = self._region.record(slot)
        state = STATE_NAMES.get(r["state"], "unknown")
        cooling = r["state"] == STATE_HEALTHY and r["cool_until"] > now
        probing = r["state"] not in (STATE_HEALTHY, STATE_DISABLED)
        # What is left now, by the provider's last word and how its limiter refills.
        requests_left = left_in(r, "requests", now)
        tokens_left = left_in(r, "tokens", now)
        return UpstreamKeyState(
            provider=provider,
            key_id=key,
            state="cooling" if cooling else state,
            cause=key_cause(self._region, slot, now),
            cooling_for_s=round((r["cool_until"] - now) / 1e9, 3) if cooling else None,
            next_probe_in_s=round(max(0, r["next_probe"] - now) / 1e9, 3) if probing else None,
            in_flight=r["in_flight"],
            remaining_requests=None if requests_left is None else int(requests_left),
            limit_requests=None if requests_left is None else r["limit_requests"],
            remaining_tokens=None if tokens_left is None else int(tokens_left),
            limit_tokens=None if tokens_left is None else r["limit_tokens"],
            added_at_runtime=(provider, key) not in self._configured,
        )

    def act(self, provider: str, key: str, action: str) -> UpstreamKeyState:
        """disable: never used until enabled; enable/reset: healthy now, cooldown cleared."""
        slot = self._slots().get((provider, key))
        if slot is None:
            raise KeyError(f"no key {key!r} of provider {provider!r}")
        now = time.monotonic_ns()
        if action == "disable":
            self._region.set_state(slot, STATE_DISABLED, now)
        else:
            self._restore(slot)
        return self._state(provider, key, slot, now)
