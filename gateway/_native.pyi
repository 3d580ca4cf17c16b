"""Type stubs for the compiled data-plane core (`_native/core.pyx`)."""

from typing import Any

from gateway.admission.rejections import Rejection
from gateway.admission.spec import AdmissionSpec

def now_ns() -> int: ...

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
    def key_slot(self, key_id: int) -> int: ...
    def claim_worker(self, pid: int) -> int: ...
    def reconcile(self) -> int: ...
    def in_flight(self, slot: int) -> int: ...
    def cool(self, slot: int, until_ns: int) -> None: ...
    def cool_until(self, slot: int) -> int: ...
    def tat(self, word: int) -> int: ...

class Decision:
    route: int
    key_id: str
    tenant: str
    app: str
    models: frozenset[str] | None
    group: str | None
    target: Any
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
    ) -> Decision | Rejection: ...
    def finish(self, d: Decision, actual_tokens: int = -1) -> None: ...
