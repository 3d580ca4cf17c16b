"""Rows of tenancy (docs/tenancy.md): members and roles, admin tokens, the audit log, services
and their versions, subscriptions. Shared by the store, the admin API (and its OpenAPI document),
the CLI and the data plane's tables."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Role = Literal["owner", "admin", "developer", "viewer"]
# Ascending power: each role may do what the ones before it may.
ROLES: tuple[str, ...] = ("viewer", "developer", "admin", "owner")
ServiceState = Literal["draft", "published", "deprecated", "retired"]
SubscriptionState = Literal["pending", "approved", "rejected", "revoked"]
# Versions callers reach; a retired one answers 410, a draft is not there at all.
SERVED_STATES = ("published", "deprecated")

Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
ServiceName = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Member(msgspec.Struct, kw_only=True):
    tenant: str
    user: str
    role: Role
    created_at: float


class AdminToken(msgspec.Struct, kw_only=True):
    """An admin token as listed: its visible prefix, never the token."""

    id: str
    prefix: str
    user: str
    # None: a global (operator) token; else it acts as `user`'s membership in this tenant.
    tenant: str | None = None
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None


class AuditEntry(msgspec.Struct, kw_only=True):
    id: int
    ts: float
    actor: str
    token_id: str
    tenant: str
    method: str
    path: str
    status: int
    client: str


class Variable(_Strict):
    """A prompt API's input: a JSON body field, checked against `type` before the call."""

    name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    type: Literal["string", "integer", "number", "boolean"] = "string"
    required: bool = True
    description: str = ""
    max_length: Annotated[int, msgspec.Meta(ge=1)] | None = None


class PromptSpec(_Strict):
    """A prompt template: `{{name}}` in `system` and `template` is replaced by the variable."""

    template: Annotated[str, msgspec.Meta(min_length=1)]
    system: str = ""
    variables: list[Variable] = []
    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    # Callers may ask for a stream (`"stream": true` beside the variables).
    streaming: bool = False


class ModelDefaults(_Strict):
    """Parameters a model route applies to requests that do not set them."""

    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    presence_penalty: Annotated[float, msgspec.Meta(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, msgspec.Meta(ge=-2, le=2)] | None = None
    seed: int | None = None


class VersionSpec(msgspec.Struct, omit_defaults=True):
    """What a version stores beside its kind and model group."""

    prompt: PromptSpec | None = None
    defaults: ModelDefaults | None = None


class NewService(_Strict):
    tenant: str
    name: ServiceName
    description: str = ""
    # Subscriptions from other tenants' apps wait for an owner or admin of this tenant.
    approval: bool = False


class NewVersion(_Strict):
    kind: Literal["model", "prompt"]
    # The model group that serves it.
    model_group: str
    # Required for a prompt API.
    prompt: PromptSpec | None = None
    # A model route's default parameters.
    defaults: ModelDefaults | None = None


class Transition(_Strict):
    """Publish, deprecate or retire a version. `sunset_at` (Unix seconds) is announced in the
    `Sunset` header while the version is deprecated."""

    sunset_at: float | None = None


class ServiceVersion(msgspec.Struct, kw_only=True):
    version: int
    kind: Literal["model", "prompt"]
    state: ServiceState
    model_group: str
    prompt: PromptSpec | None = None
    defaults: ModelDefaults | None = None
    deprecated_at: float | None = None
    sunset_at: float | None = None
    created_at: float


class Service(msgspec.Struct, kw_only=True):
    id: int
    tenant: str
    name: str
    description: str
    approval: bool
    created_at: float
    versions: list[ServiceVersion] = []


class NewSubscription(_Strict):
    service: str
    app: str
    # The app's tenant; needed only when the app name is not unique.
    tenant: str | None = None


class Decision(_Strict):
    reason: str = ""


class Subscription(msgspec.Struct, kw_only=True):
    id: int
    service: str
    # The service's tenant, and the subscribing app's.
    service_tenant: str
    tenant: str
    app: str
    state: SubscriptionState
    reason: str = ""
    decided_by: str = ""
    created_at: float
    decided_at: float | None = None


class ServedVersion(msgspec.Struct, array_like=True):
    """What the data plane loads per service version that is not a draft."""

    service: str
    tenant: str
    version: int
    kind: str
    state: str
    model_group: str
    spec: VersionSpec
    deprecated_at: float | None
    sunset_at: float | None


class Grant(msgspec.Struct, array_like=True):
    """A subscription as the data plane needs it: which app may (or may not yet) call what."""

    service: str
    tenant: str
    app: str
    state: str
    reason: str
