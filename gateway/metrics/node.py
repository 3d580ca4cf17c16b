"""The node's side of metrics: the directory every worker publishes into, and the Prometheus text
the admin listener serves from it (every worker summed, plus upstream key state read at scrape).
"""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from .._version import __version__
from ..processes import alive, scratch_path
from . import names
from .names import KEY_CAUSES, KEY_STATES
from .worker import ENV, PROCESS_PREFIX

CONTENT_TYPE = CONTENT_TYPE_LATEST


def metrics_dir_path() -> str:
    """Where a node's workers publish."""
    return scratch_path("metrics")


def prepare_dir(path: str) -> str:
    """Create the directory, empty: a node's counters start at zero (Prometheus sees a restart)."""
    os.makedirs(path, exist_ok=True)
    for f in glob.glob(os.path.join(path, "*.db")):
        os.remove(f)
    return path


def remove_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def node_metrics_dir() -> Iterator[str]:
    """For the supervisor: a fresh directory for this node's workers, removed at exit. Put its
    path in os.environ[ENV] before starting the data plane and the admin listener."""
    path = prepare_dir(metrics_dir_path())
    try:
        yield path
    finally:
        remove_dir(path)


def reap_dead_workers(path: str) -> int:
    """Drop the gauges of worker processes that are gone (their counters stay: a counter's total
    does not vanish with its process). Returns how many were reaped."""
    reaped = 0
    for f in glob.glob(os.path.join(path, f"gauge_live*_{PROCESS_PREFIX}*.db")):
        ident = os.path.basename(f).rsplit("_", 1)[1][: -len(".db")]
        pid = int(ident[len(PROCESS_PREFIX) :])
        if not alive(pid):
            mark_process_dead(ident, path)
            reaped += 1
    return reaped


class KeyStateLike(Protocol):
    """One upstream key as the node sees it (gateway/admin/routes.py: UpstreamKeyState)."""

    provider: str
    key_id: str
    state: str
    cause: str | None
    in_flight: int
    cooling_for_s: float | None


class _WorkerFamilies:
    """The workers' metrics summed from their files, and every family documented in
    names.WORKER_METRICS from the start: a series whose label values are known before any event
    (a limit scope, a drop reason, a provider's retry outcome, a model group's queue) is 0 until
    it happens, so alerts on it have data; the others are announced with no samples yet."""

    def __init__(
        self,
        directory: str | None,
        providers: Callable[[], Iterable[str]],
        groups: Callable[[], Iterable[str]],
    ):
        self._files = MultiProcessCollector(None, path=directory) if directory is not None else None
        self._providers = providers
        self._groups = groups

    def collect(self) -> Iterator[Metric]:
        found = {m.name: m for m in self._files.collect()} if self._files is not None else {}
        for spec in names.WORKER_METRICS:
            family = found.pop(spec.name, None) or Metric(spec.name, spec.help, spec.kind)
            sample = spec.name + "_total" if spec.kind == "counter" else spec.name
            seen = {
                tuple(s.labels.get(n, "") for n in spec.labels) for s in family.samples if s.name == sample
            }
            for values in self._known(spec):
                if values not in seen:
                    family.add_sample(sample, dict(zip(spec.labels, values, strict=True)), 0.0)
            yield family
        yield from found.values()

    def _known(self, spec: names.Metric) -> list[tuple[str, ...]]:
        if not spec.labels:  # the gauges of in-flight requests and buffered records
            return [()]
        if spec is names.LIMITER_REJECTIONS:
            return [(scope,) for scope in names.LIMIT_SCOPES]
        if spec is names.CALLLOG_DROPPED:
            return [(reason,) for reason in names.DROP_REASONS]
        if spec is names.ACCESS_LOG_DROPPED:
            return [(reason,) for reason in names.ACCESS_DROP_REASONS]
        if spec is names.UPSTREAM_RETRIES:
            return [(p, outcome) for p in sorted(set(self._providers())) for outcome in names.RETRY_OUTCOMES]
        if spec is names.QUEUE_DEPTH:
            return [(group,) for group in self._groups()]
        return []


class _KeyStateCollector:
    """Upstream key gauges, read from the shared region at each scrape (node-wide already)."""

    def __init__(self, states: Callable[[], Iterable[KeyStateLike]]):
        self._states = states

    def collect(self) -> Iterator[Metric]:
        labels = ["provider", "key_id"]
        state = GaugeMetricFamily(
            "aigw_upstream_key_state", "1 for the state each upstream key is in", labels=[*labels, "state"]
        )
        cause = GaugeMetricFamily(
            "aigw_upstream_key_cause",
            "1 for the reason each upstream key is out of use (none while it is usable)",
            labels=[*labels, "cause"],
        )
        in_flight = GaugeMetricFamily(
            "aigw_upstream_key_in_flight", "Requests in flight on each upstream key", labels=labels
        )
        cooling = GaugeMetricFamily(
            "aigw_upstream_key_cooldown_seconds", "Seconds until a cooling key is used again", labels=labels
        )
        headroom = GaugeMetricFamily(
            "aigw_upstream_key_headroom_ratio",
            "Remaining / limit the provider last reported, per kind (requests, tokens)",
            labels=[*labels, "kind"],
        )
        for k in self._states():
            ids = [k.provider, k.key_id]
            for name in KEY_STATES:
                state.add_metric([*ids, name], 1.0 if k.state == name else 0.0)
            for name in KEY_CAUSES:
                cause.add_metric([*ids, name], 1.0 if k.cause == name else 0.0)
            in_flight.add_metric(ids, float(k.in_flight))
            cooling.add_metric(ids, float(k.cooling_for_s or 0.0))
            # What the provider last reported, while it holds (None otherwise).
            for kind in ("requests", "tokens"):
                remaining = getattr(k, f"remaining_{kind}", None)
                limit = getattr(k, f"limit_{kind}", None)
                if remaining is not None and limit:
                    headroom.add_metric([*ids, kind], remaining / limit)
        yield from (state, cause, in_flight, cooling, headroom)


class _PoolCollector:
    """Each model group's pool headroom (gateway/keypool/pools.py), read at each scrape."""

    def __init__(self, headroom: Callable[[], dict[str, float]]):
        self._headroom = headroom

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "aigw_pool_headroom_ratio",
            "Mean share of capacity the keys of each model group's pool have left (0: none can serve)",
            labels=["model_group"],
        )
        for group, headroom in self._headroom().items():
            gauge.add_metric([group], headroom)
        yield gauge


class _ClusterCollector:
    """Whether the node is degraded (Redis unreachable) and how many nodes it counts live."""

    def __init__(self, status: Callable[[], Any]):
        self._status = status

    def collect(self) -> Iterator[Metric]:
        status = self._status()  # a node on its own: never degraded, the one live node
        degraded = GaugeMetricFamily(
            "aigw_cluster_degraded",
            "1 while Redis is unreachable: the node serves on local state, each shared limit divided "
            "by the live nodes",
        )
        degraded.add_metric([], 1.0 if status.degraded else 0.0)
        live = GaugeMetricFamily("aigw_cluster_live_nodes", "Nodes of the cluster heard from in time")
        live.add_metric([], float(status.live_nodes))
        yield from (degraded, live)


class _BudgetCollector:
    """The share of each budget used in its current period, read from the node's counters at each
    scrape (gateway/admin/budgets.py)."""

    def __init__(self, used: Callable[[], dict[tuple[str, str, str, str], float]]):
        self._used = used

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "aigw_budget_used_ratio",
            "Share of each budget used in its current period (1: used up, its requests get 429)",
            labels=["scope", "subject", "kind", "period"],
        )
        for labels, ratio in self._used().items():
            gauge.add_metric(list(labels), ratio)
        yield gauge


class _BuildInfo:
    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("aigw_build_info", "aigw version of this node", labels=["version"])
        info.add_metric([__version__], 1.0)
        yield info


class NodeMetrics:
    """Renders the node's /metrics. `directory` None: only what the admin process itself knows."""

    def __init__(
        self,
        directory: str | None,
        key_states: Callable[[], Iterable[KeyStateLike]] | None = None,
        pool_headroom: Callable[[], dict[str, float]] | None = None,
        budget_used: Callable[[], dict[tuple[str, str, str, str], float]] | None = None,
        cluster: Callable[[], Any] | None = None,
    ):
        self.directory = directory
        self.registry = CollectorRegistry(auto_describe=False)
        states = key_states or (lambda: ())
        self.registry.register(
            _WorkerFamilies(
                directory,
                lambda: (k.provider for k in states()),
                lambda: pool_headroom() if pool_headroom is not None else {},
            )
        )
        if key_states is not None:
            self.registry.register(_KeyStateCollector(key_states))
        if pool_headroom is not None:
            self.registry.register(_PoolCollector(pool_headroom))
        if budget_used is not None:
            self.registry.register(_BudgetCollector(budget_used))
        if cluster is not None:
            self.registry.register(_ClusterCollector(cluster))
        self.registry.register(_BuildInfo())

    @classmethod
    def from_env(
        cls,
        key_states: Callable[[], Iterable[KeyStateLike]] | None = None,
        pool_headroom: Callable[[], dict[str, float]] | None = None,
        budget_used: Callable[[], dict[tuple[str, str, str, str], float]] | None = None,
        cluster: Callable[[], Any] | None = None,
    ) -> NodeMetrics:
        directory = os.environ.get(ENV) or None
        usable = directory if directory and os.path.isdir(directory) else None
        return cls(usable, key_states, pool_headroom, budget_used, cluster)

    def render(self) -> bytes:
        """The Prometheus text exposition. Reads files: call it off the event loop."""
        if self.directory is not None:
            reap_dead_workers(self.directory)
        out: bytes = generate_latest(self.registry)
        return out
