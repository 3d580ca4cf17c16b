"""Type stubs for the compiled data-plane core (`_native/core.pyx`)."""

from typing import Any

from gateway.admission.rejections import Rejection
from gateway.admission.spec import AdmissionSpec

class Decision:
    route: int
    key_id: str
    tenant: str
    app: str
    models: frozenset[str] | None
    group: str | None
    target: Any

class AdmissionTable:
    def __init__(self, spec: AdmissionSpec) -> None: ...
    @property
    def consumer_count(self) -> int: ...
    def group_names(self) -> list[str]: ...
    def admit(
        self, method: str, path: str, credential: str | None, model: str | None
    ) -> Decision | Rejection: ...
