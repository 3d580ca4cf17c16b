"""Type stubs for the compiled data-plane core (`_native/core.pyx`)."""

from collections.abc import Callable, Sequence
from typing import Any

from gateway.admission.rejections import Rejection
from gateway.admission.spec import AdmissionSpec

# atomics.pxi, admit.pxi
def now_ns() -> int: ...
def period_index(period: str, wall_s: int) -> int: ...

# usage.pxi
def openai_usage(data: bytes) -> tuple[int, int, int] | None: ...

# ratelimit_headers.pxi
def go_duration_ns(ns: int) -> str: ...
def limit_headers(d: Decision) -> list[tuple[str, str]]: ...

# response_head.pxi
def scan_head(received: bytes, start: int, watch: tuple[bytes, ...]) -> tuple[int, int]: ...
def pick_headers(head: bytes, names: tuple[str, ...]) -> dict[str, str]: ...

# headroom.pxi
def head_headroom(head: bytes, now_ns: int) -> tuple[int, int, int, int, int, int] | bool | None: ...

# calllog.pxi
class CallWriter:
    def __init__(
        self,
        path: str,
        timeout_ms: int,
        setup: tuple[str, ...],
        inserts: dict[int, str],
        upsert: str,
        grains: tuple[int, ...],
        fields: tuple[str, ...],
        dimensions: tuple[str, ...],
        bounds: tuple[float, ...],
        encode_attempts: Callable[[Any], bytes],
    ) -> None: ...
    def insert(self, records: Sequence[Any]) -> None: ...
    def close(self) -> None: ...

# series.pxi
class Series:
    requests: int
    input: int
    output: int
    cached: int
    cost: float
    duration: list[float]
    upstream: list[float]
    ttfb: list[float]
    overhead: list[float]
    def __init__(self, duration_ms: tuple[float, ...], overhead_ms: tuple[float, ...]) -> None: ...
    def add(self, rec: Any) -> None: ...

# region.pxi
class SharedRegion:
    path: str
    max_workers: int
    bucket_capacity: int
    key_capacity: int
    worker: int
    @staticmethod
    def create(path: str, max_workers: int, bucket_capacity: int, key_capacity: int) -> SharedRegion: ...
    @staticmethod
    def attach(path: str) -> SharedRegion: ...
    def close(self) -> None: ...
    def bucket(self, limit_id: int) -> int: ...
    def budget_word(self, budget_id: int) -> int: ...
    def budget_used(self, budget_id: int, index: int) -> int: ...
    def seed_budget(self, budget_id: int, index: int, used: int) -> None: ...
    def key_slot(self, key_id: int) -> int: ...
    def claim_worker(self, pid: int) -> int: ...
    def reconcile(self) -> int: ...
    def in_flight(self, slot: int) -> int: ...
    def cool(self, slot: int, until_ns: int) -> None: ...
    def cool_until(self, slot: int) -> int: ...
    def clear_cooldown(self, slot: int) -> None: ...
    def learn(
        self,
        slot: int,
        remaining_requests: int,
        reset_requests_ns: int,
        limit_requests: int,
        remaining_tokens: int,
        reset_tokens_ns: int,
        limit_tokens: int,
    ) -> None: ...
    def state(self, slot: int) -> int: ...
    def set_state(self, slot: int, state: int, now_ns: int, next_probe_ns: int = 0) -> int: ...
    def next_probe(self, slot: int) -> int: ...
    def set_next_probe(self, slot: int, at_ns: int) -> None: ...
    def fail(self, slot: int) -> int: ...
    def succeed(self, slot: int) -> None: ...
    def record(self, slot: int) -> dict[str, int]: ...

# admit.pxi
class Decision:
    route: int
    key_id: str
    tenant: str
    app: str
    models: frozenset[str] | None
    services: frozenset[str]
    group: str | None
    target: Any
    params: dict[str, str] | None
    slot: int
    estimated_tokens: int
    requests_limit: int
    requests_remaining: int
    requests_reset_ns: int
    tokens_limit: int
    tokens_remaining: int
    tokens_reset_ns: int

class AdmissionTable:
    def __init__(self, spec: AdmissionSpec, region: SharedRegion) -> None: ...
    @property
    def consumer_count(self) -> int: ...
    @property
    def region(self) -> SharedRegion: ...
    def group_names(self) -> list[str]: ...
    def admit(
        self,
        method: str,
        path: str,
        credential: str | None,
        model: str | None,
        estimated_tokens: int = 0,
        now: int = -1,
        wall: int = -1,
        client: str | None = None,
    ) -> Decision | Rejection: ...
    def repick(
        self, d: Decision, exclude: set[int] | None = None, now: int = -1, group: str | None = None
    ) -> Rejection | None: ...
    def finish(self, d: Decision, actual_tokens: int = -1, cost_micros: int = -1) -> None: ...
