"""What the admission tables are built from: plain data, identical for the native core and the
pure-Python reference, so the two can be tested against each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Route ids: stable small ints the glue dispatches on.
ROUTE_CHAT = 1
ROUTE_EMBEDDINGS = 2
ROUTE_MODELS = 3

OPENAI_ROUTES: dict[tuple[str, str], int] = {
    ("POST", "/v1/chat/completions"): ROUTE_CHAT,
    ("POST", "/v1/embeddings"): ROUTE_EMBEDDINGS,
    ("GET", "/v1/models"): ROUTE_MODELS,
}


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    digest: bytes
    key_id: str
    tenant: str
    app: str
    # None: every model group; otherwise the names allowed.
    models: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class GroupSpec:
    name: str
    # Opaque to admission: the glue's upstream targets (one per deployment key), picked in turn.
    targets: tuple[Any, ...]


@dataclass(slots=True)
class AdmissionSpec:
    routes: dict[tuple[str, str], int] = field(default_factory=lambda: dict(OPENAI_ROUTES))
    consumers: list[ConsumerSpec] = field(default_factory=list)
    groups: list[GroupSpec] = field(default_factory=list)
