"""Admission tables for one worker: built from config and a store snapshot over the node's shared
region, rebuilt when the store's generation moves (a key created or revoked, a limit changed)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..admission import AdmissionSpec, AdmissionTable, BudgetSpec, ConsumerSpec, GroupSpec, LimitSpec
from ..admission.layout import STATE_EXHAUSTED, STATE_HEALTHY, STATE_INVALID, key_id
from ..config.published import Published
from ..config.schema import Config, ModelGroup
from ..keypool.directory import all_keys
from ..store import Store
from ..store.records import ActiveKey, BudgetRecord, Snapshot, UpstreamSecret
from .served import Served
from .services import ServiceTables
from .targets import Target, build_targets

log = logging.getLogger("aigw.tables")


def build_table(
    snapshot: Snapshot,
    pools: Mapping[str, tuple[Target, ...]],
    region: Any,
    configs: Mapping[str, ModelGroup],
) -> tuple[AdmissionTable, ServiceTables]:
    by_subject: dict[tuple[str, str], list[int]] = defaultdict(list)
    limits = []
    for rec in snapshot.limits:
        by_subject[(rec.scope, rec.subject)].append(rec.id)
        name = f"{rec.scope} '{rec.subject}'"
        # A stored limit is the cluster's: shared by every node when the region says it is clustered.
        limits.append(
            LimitSpec(rec.id, name, rec.kind, rec.amount, rec.period_s, rec.burst, rec.scope, shared=True)
        )
    temporary = {k.id for k in snapshot.keys if k.temporary}
    budgets_of: dict[tuple[str, str], list[int]] = defaultdict(list)
    budgets = []
    for b in snapshot.budgets:
        budgets_of[(b.scope, b.subject)].append(b.id)
        budgets.append(_budget(b, b.scope == "key" and b.subject in temporary))
    # Upstream keys' configured limits, one bucket each however many groups share the key.
    key_limits = {
        spec.id: spec for targets in pools.values() for t in targets for spec in _key_limit_specs(t)
    }
    limits += key_limits.values()
    services = ServiceTables.build(snapshot, set(pools))
    # Consumers of one app mostly reach the same models and services: one frozenset each, shared
    # (a frozenset per consumer was ~280 B of every consumer's memory in the worker).
    shared: dict[frozenset[str], frozenset[str]] = {}
    consumers = [_consumer(k, by_subject, budgets_of, services, shared) for k in snapshot.keys]
    groups = [
        _group(name, name, pools[name], configs[name], tuple(by_subject[("model", name)]), ())
        for name in pools
    ]
    for name, route in services.routes.items():
        # A service version is its model group's pool, gated, charged the service's limits too.
        group_limits = (*by_subject[("service", route.service)], *by_subject[("model", route.model_group)])
        aliases = (route.service,) if services.aliases.get(route.service) == name else ()
        config = configs[route.model_group]
        groups.append(
            _group(name, route.model_group, pools[route.model_group], config, group_limits, aliases)
        )
    spec = AdmissionSpec(consumers=consumers, groups=groups, limits=limits, budgets=budgets)
    return AdmissionTable(spec, region), services


def _group(
    name: str,
    pool: str,
    targets: tuple[Target, ...],
    config: ModelGroup,
    limits: tuple[int, ...],
    service_aliases: tuple[str, ...],
) -> GroupSpec:
    return GroupSpec(
        name,
        targets,
        tuple(key_id(t.provider, t.key_id) for t in targets),
        limits,
        config.strategy,
        tuple(config.fallbacks),
        service_aliases or tuple(config.aliases),
        _tier_sizes(targets),
        tuple(t.weight for t in targets),
        gated=name != pool,
        key_limits=tuple(tuple(spec.id for spec in _key_limit_specs(t)) for t in targets),
    )


def _budget(b: BudgetRecord, temporary_cap: bool) -> BudgetSpec:
    name = f"{b.scope} '{b.subject}'"
    if not (temporary_cap and b.period == "lifetime"):
        return BudgetSpec(b.id, name, b.kind, b.amount, b.period, scope=b.scope)
    # A temporary key's cap: used up, the key is spent (401), not rate-limited (429).
    used_up = f"This temporary API key has used up its {b.amount:,} {b.kind} (its cap). Ask for a new one."
    return BudgetSpec(b.id, name, b.kind, b.amount, b.period, used_up=used_up, scope=b.scope)


_NO_REFUSALS: dict[str, str] = {}  # shared by every consumer without refusals: never mutated


def _one_of(shared: dict[frozenset[str], frozenset[str]], value: frozenset[str]) -> frozenset[str]:
    """`value`, or the equal set already in `shared`."""
    return shared.setdefault(value, value)


def _consumer(
    k: ActiveKey,
    by_subject: Mapping[tuple[str, str], list[int]],
    budgets_of: Mapping[tuple[str, str], list[int]],
    services: ServiceTables,
    shared: dict[frozenset[str], frozenset[str]],
) -> ConsumerSpec:
    models = None if "*" in k.models else frozenset(k.models)
    reachable = services.allowed.get((k.tenant, k.app), set()) | services.own.get(k.tenant, set())
    allowed = k.allowed
    if allowed is not None and allowed.models is not None:
        models = frozenset(allowed.models) if models is None else models & frozenset(allowed.models)
    if allowed is not None and allowed.services is not None:
        reachable = {n for n in reachable if n.partition("/v")[0] in allowed.services}
    expires_ns = 0
    expired = ""
    if k.expires_at is not None:
        # Wall-clock expiry as a CLOCK_MONOTONIC deadline, which admission compares against.
        expires_ns = time.monotonic_ns() + int((k.expires_at - time.time()) * 1e9)
        when = datetime.fromtimestamp(k.expires_at, UTC).isoformat(timespec="seconds")
        kind = "temporary API key" if k.temporary else "API key (rotated)"
        expired = f"This {kind} expired at {when}. Ask its owner for a new one."
    return ConsumerSpec(
        digest=k.digest,
        key_id=k.id,
        tenant=k.tenant,
        app=k.app,
        models=models if models is None else _one_of(shared, models),
        limits=(
            *by_subject[("tenant", k.tenant)],
            *by_subject[("app", f"{k.tenant}/{k.app}")],
            *by_subject[("key", k.id)],
        ),
        budgets=(
            *budgets_of[("tenant", k.tenant)],
            *budgets_of[("app", f"{k.tenant}/{k.app}")],
            *budgets_of[("key", k.id)],
        ),
        services=_one_of(shared, frozenset(reachable)),
        refusals=services.refusals.get((k.tenant, k.app), _NO_REFUSALS),
        expires_ns=max(expires_ns, 1) if k.expires_at is not None else 0,
        expired=expired,
        networks=(
            tuple(ipaddress.ip_network(n, strict=False) for n in k.allowed.networks)
            if k.allowed is not None and k.allowed.networks is not None
            else None
        ),
    )


class LiveTable:
    """Holds what the worker serves (`current`, a Served) and swaps in the next one when the store
    changes or the node reloads its config.

    Bounded staleness: a change is visible after at most `server.reload_interval_s` plus one
    rebuild — the documented "within 1 s" for key revocation, limit changes and provider keys
    added, rotated or removed (the pools are rebuilt then; a key's health stays with its id in the
    region). A config reload bumps the store's generation after publishing the new config, so it
    reaches the worker the same way. Each build's generation is published in the worker's row of
    the region, which is how a change made through the admin API (and a reload) is answered only
    once every worker serves it.
    """

    def __init__(self, source: Callable[[], Published], store: Store, region: Any):
        self._source = source
        self._store = store
        self._region = region
        # The generation is read before the config and the snapshot (see _reload).
        generation = store.generation()
        published = source()
        snapshot = store.snapshot()
        self._urls = published.provider_urls
        self._keys_by_group: dict[str, tuple[tuple[str, int], ...]] = {}
        self._slots_by_provider: dict[str, tuple[int, ...]] = {}
        self.current = self._build(published.epoch, published.config(), generation, snapshot, None)
        self._task: asyncio.Task[None] | None = None
        # Called with each new Served once it is current (the app's per-group gauges, key health).
        self.listeners: list[Callable[[Served], None]] = []

    def _build(
        self, epoch: int, cfg: Config, generation: int, snapshot: Snapshot, previous: Served | None
    ) -> Served:
        stored = snapshot.upstream_keys
        pools = build_targets(cfg, self._urls, stored)
        if previous is not None:
            self._renew_changed_keys(previous, cfg, stored)
        table, services = build_table(snapshot, pools, self._region, {g.name: g for g in cfg.model_groups})
        self._index(pools)
        rooms = previous.rooms() if previous is not None else {}
        return Served(epoch, cfg, generation, pools, table, services, rooms, stored)

    def _index(self, pools: Mapping[str, tuple[Target, ...]]) -> None:
        by_provider: dict[str, set[int]] = defaultdict(set)
        keys_by_group = {}
        for group, targets in pools.items():
            keys = tuple((t.provider, self._region.key_slot(key_id(t.provider, t.key_id))) for t in targets)
            keys_by_group[group] = keys
            for provider, slot in keys:
                by_provider[provider].add(slot)
        self._keys_by_group = keys_by_group
        self._slots_by_provider = {p: tuple(slots) for p, slots in by_provider.items()}

    def _renew_changed_keys(self, previous: Served, cfg: Config, stored: list[UpstreamSecret]) -> None:
        """Provider keys were added, rotated or removed (at runtime, or in a reloaded config). The
        old targets of a changed key are marked stale (an answer to a secret since replaced says
        nothing about the key), and a changed key refused or out of quota gets a fresh try — also
        when this worker, before it reloaded, was the one that found its old secret refused."""
        before = _secrets(previous.cfg, previous.stored)
        after = _secrets(cfg, stored)
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        if not changed:
            return
        for targets in previous.pools.values():
            for t in targets:
                if (t.provider, t.key_id) in changed:
                    t.stale = True
        now = time.monotonic_ns()
        for provider, key in changed & after.keys():
            slot = self._region.key_slot(key_id(provider, key))
            if self._region.state(slot) in (STATE_INVALID, STATE_EXHAUSTED):
                self._region.set_state(slot, STATE_HEALTHY, now)

    @property
    def table(self) -> AdmissionTable:
        return self.current.table

    @property
    def generation(self) -> int:
        return self.current.generation

    def keys_of(self, provider: str) -> tuple[int, ...]:
        """The region slots of every key of `provider` in the current pools."""
        return self._slots_by_provider.get(provider, ())

    def pool_of(self, group: str) -> tuple[tuple[str, int], ...]:
        """Every key of model group `group`'s pool: its provider and region slot."""
        return self._keys_by_group.get(group, ())

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._task = loop.create_task(self._watch())
        # In this worker's row, once its event loop runs (the node then says it serves, and a
        # SIGTERM is handled as a drain from then on): the admin listener answers a change once
        # every worker serves it.
        loop.call_soon(self._announce)

    def _announce(self) -> None:
        self._region.set_loaded_generation(self.current.generation)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.current.cfg.server.reload_interval_s)
            try:
                # A generation check is one indexed read; the rebuild's reads run off the event loop.
                generation = self._store.generation()
                if generation != self.current.generation:
                    await self._reload(loop, generation)
            except Exception:
                # Keep serving what we have; say so and try again next tick.
                log.exception("reloading tables failed; serving generation %d", self.current.generation)

    async def _reload(self, loop: asyncio.AbstractEventLoop, generation: int) -> None:
        # The config is read after the generation: a config reload publishes the new config before
        # it bumps the generation, so seeing the bump means reading the new config. The generation
        # published is the one read first (a write landing meanwhile makes one more rebuild).
        previous = self.current
        published, cfg = await loop.run_in_executor(None, self._config_after, previous)
        snapshot = await loop.run_in_executor(None, self._store.snapshot)
        self._urls = published.provider_urls
        served = self._build(published.epoch, cfg, generation, snapshot, previous)
        self.current = served  # the swap: requests arriving from now on are served by it
        self._region.set_loaded_generation(generation)
        for listener in self.listeners:
            listener(served)
        if served.epoch != previous.epoch:
            log.info("serving config %d from now on (generation %d)", served.epoch, generation)
        else:
            log.info(
                "tables reloaded at generation %d (%d consumer keys)", generation, served.table.consumer_count
            )

    def _config_after(self, previous: Served) -> tuple[Published, Config]:
        """The published config, parsed only when it is another than `previous`'s (in a thread)."""
        published = self._source()
        if published.epoch == previous.epoch:
            return published, previous.cfg
        return published, published.config()


def _secrets(cfg: Config, stored: Sequence[UpstreamSecret]) -> dict[tuple[str, str], str]:
    return {(p.name, k.id): k.value for p, k in all_keys(cfg, stored)}


def _key_limit_specs(t: Target) -> list[LimitSpec]:
    """A key's configured limits as admission charges them. A bucket's id is derived from the key
    and the rate, so every worker finds the same bucket, and a changed rate starts afresh (as
    store limits do); a changed burst keeps the state."""
    name = f"upstream key '{t.provider}/{t.key_id}'"
    return [
        LimitSpec(
            key_id(t.provider, f"{t.key_id}\0{rule.kind}\0{rule.amount}/{rule.period_s}"),
            name,
            rule.kind,
            rule.amount,
            rule.period_s,
            rule.burst or rule.amount,
            "upstream_key",
        )
        for rule in t.key_limits
    ]


def _tier_sizes(targets: tuple[Target, ...]) -> tuple[int, ...]:
    """Sizes of the runs of equal priority in targets sorted by priority."""
    sizes: list[int] = []
    for i, target in enumerate(targets):
        if i == 0 or target.priority != targets[i - 1].priority:
            sizes.append(0)
        sizes[-1] += 1
    return tuple(sizes)
