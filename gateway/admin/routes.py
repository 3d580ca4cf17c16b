"""The admin API as data: each endpoint's method, path, types and handler in one place, so the
OpenAPI document is generated from exactly what the handlers use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import msgspec

from ..config.changes import ConfigChange
from ..store.records import Allowed, ConsumerKey


class CreateKey(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    app: str
    tenant: str | None = None
    name: str | None = None


class CreateTemporaryKey(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A key that expires after `ttl_s` and may be capped in requests and tokens (lifetime)."""

    app: str
    tenant: str | None = None
    name: str | None = None
    ttl_s: Annotated[float, msgspec.Meta(gt=0, le=366 * 86400)]
    max_requests: Annotated[int, msgspec.Meta(ge=1)] | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    allowed: Allowed | None = None


class RotateKey(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The old key keeps working for `overlap_s` seconds after the new one is made."""

    overlap_s: Annotated[float, msgspec.Meta(ge=0, le=90 * 86400)] = 3600.0


class CreatedKey(msgspec.Struct, kw_only=True):
    """The new key's record and the key itself — shown this once, never again."""

    record: ConsumerKey
    key: str


class Health(msgspec.Struct, kw_only=True):
    status: str  # ok; degraded: serving on local state, Redis unreachable (docs/cluster.md)
    version: str
    # In a cluster: Redis connected or unreachable.
    cluster: str | None = None


class Ready(msgspec.Struct, kw_only=True):
    ready: bool
    store: bool
    dataplane: bool
    # The store's generation, and the oldest one a worker of the node serves: every change up to
    # `loaded_generation` is served by every worker.
    generation: int | None = None
    loaded_generation: int | None = None


class UpstreamKeyState(msgspec.Struct, kw_only=True):
    """One provider key as this node sees it (shared by all its workers). Never the secret."""

    provider: str
    key_id: str
    state: str  # healthy, cooling, exhausted, invalid or disabled
    # Why it is out of use, if it is: rate_limited, server_errors, unreachable, timeout,
    # broken_connection (while cooling), quota, invalid or disabled (docs/key-pools.md).
    cause: str | None = None
    # Seconds until the key is used again, while cooling.
    cooling_for_s: float | None = None
    # Seconds until the next probe of an exhausted or invalid key.
    next_probe_in_s: float | None = None
    in_flight: int
    # What the provider last said about this key's headroom, while it holds.
    remaining_requests: int | None = None
    limit_requests: int | None = None
    remaining_tokens: int | None = None
    limit_tokens: int | None = None
    # Added through the admin API (so it may be rotated or removed there), not from the config file.
    added_at_runtime: bool = False


# A provider key's secret goes into a request header: printable, no spaces at its ends, no breaks.
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=4096, pattern=r"^[!-~](?:[ -~]*[!-~])?$")]
KeyId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class AddUpstreamKey(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A provider key to add at runtime: stored encrypted, never shown again."""

    key_id: KeyId
    secret: Secret

    def __repr__(self) -> str:
        return f"AddUpstreamKey(key_id={self.key_id!r}, secret='***')"


class RotateUpstreamKey(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    secret: Secret

    def __repr__(self) -> str:
        return "RotateUpstreamKey(secret='***')"


_KEY_RULES = {
    "$.secret": "the secret must be printable ASCII without spaces at its ends (it goes into a header)",
    "$.key_id": "key_id must be up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
}
KeyChange = TypeVar("KeyChange", AddUpstreamKey, RotateUpstreamKey)


def decode_key_change(raw: bytes, typ: type[KeyChange]) -> KeyChange:
    """The body of an upstream-key change. A field that breaks its pattern gets a message that
    says what it must be (not the regex); like every msgspec message, never the value."""
    try:
        return msgspec.json.decode(raw, type=typ)
    except msgspec.ValidationError as exc:
        where = str(exc).rpartition(" - at `")[2].rstrip("`")
        if "matching regex" in str(exc) and where in _KEY_RULES:
            raise msgspec.ValidationError(f"{_KEY_RULES[where]} - at `{where}`") from None
        raise


# The answer to a change the data plane serves says which store generation holds it and whether
# every worker served it by then (gateway/admin/propagation.py).
GENERATION_HEADER = "aigw-config-generation"
APPLIED_HEADER = "aigw-config-applied"

# Their OpenAPI description, on every endpoint whose change the data plane serves.
HEADERS_DOC = {
    GENERATION_HEADER: {
        "description": "The store generation that holds this change",
        "schema": {"type": "integer"},
    },
    APPLIED_HEADER: {
        "description": (
            "true: every worker of the node serves the change. false: a worker had not loaded it "
            "within 4 x server.reload_interval_s + 1 s; it takes effect there at its next reload, "
            "and GET /ready's loaded_generation reaching aigw-config-generation says every worker "
            "serves it"
        ),
        "schema": {"type": "string", "enum": ["true", "false"]},
    },
}


class AdminErrorBody(msgspec.Struct):
    message: str
    type: str
    code: str


class AdminError(msgspec.Struct):
    error: AdminErrorBody


class ReloadRefusal(msgspec.Struct, kw_only=True):
    """A config the node will not reload: every problem, and what the file would change."""

    error: AdminErrorBody
    problems: list[str]
    changes: list[ConfigChange]


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "query" or "path"
    description: str


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    response: Any
    handler: Callable[..., Awaitable[Any]]
    request: Any = None
    params: tuple[Param, ...] = ()
    status: int = 200
    auth: bool = True
    # A tenant token's requests get `?tenant=` set to its tenant (asking for another is 403):
    # listings and queries filtered by tenant are scoped by this alone.
    tenant_query: bool = False
    # Other media types the endpoint may answer in (by its `format` parameter), besides JSON.
    alternatives: tuple[str, ...] = ()
    # A change the data plane serves: answered once every worker serves it (admin/propagation.py).
    reaches_workers: bool = False
    # Answers besides the success and the standard errors: (status, description, body type).
    answers: tuple[tuple[int, str, Any], ...] = ()
