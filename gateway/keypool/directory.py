"""Every provider key of the node: the config file's, then those added at runtime (kept in the
store, secrets sealed). Workers build their targets from it; the supervisor's prober, event
watcher and admin API follow it as keys are added, rotated and removed, and as the node reloads
its config."""

from __future__ import annotations

from collections.abc import Sequence

from ..config.schema import Config, ProviderConfig, UpstreamKey
from ..store import Store
from ..store.records import UpstreamSecret


def all_keys(cfg: Config, stored: Sequence[UpstreamSecret]) -> list[tuple[ProviderConfig, UpstreamKey]]:
    """The config's keys, then the stored ones of providers the config still has (a config key
    wins over a stored key of the same id)."""
    providers = {p.name: p for p in cfg.providers}
    keys = [(p, k) for p in cfg.providers for k in p.keys]
    taken = {(p.name, k.id) for p, k in keys}
    keys += [
        (providers[s.provider], UpstreamKey(id=s.key_id, value=s.value))
        for s in stored
        if s.provider in providers and (s.provider, s.key_id) not in taken
    ]
    return keys


class KeyDirectory:
    """`all_keys`, re-read from the store only when its generation has moved (one indexed read):
    `current()` returns the same list object until then."""

    def __init__(self, cfg: Config, store: Store):
        self.cfg = cfg
        self._store = store
        self._generation = -1
        self._keys: list[tuple[ProviderConfig, UpstreamKey]] = []
        self._groups = frozenset(g.name for g in cfg.model_groups)

    def use(self, cfg: Config) -> None:
        """The node reloaded its config: its keys from now on (a new list, so followers rebuild)."""
        self.cfg = cfg
        self._groups = frozenset(g.name for g in cfg.model_groups)
        self._generation = -1

    def group_names(self) -> frozenset[str]:
        """The model groups of the config the node serves."""
        return self._groups

    def current(self) -> list[tuple[ProviderConfig, UpstreamKey]]:
        generation = self._store.generation()
        if generation != self._generation:
            self._keys = all_keys(self.cfg, self._store.upstream_secrets())
            self._generation = generation
        return self._keys
