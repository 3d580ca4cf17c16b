"""The store interface. SQLite is the embedded default; a cluster backend implements the same."""

from __future__ import annotations

from abc import abstractmethod

from .records import (
    Allowed,
    App,
    BudgetRecord,
    BudgetRule,
    BudgetScope,
    ConsumerKey,
    LimitRecord,
    LimitRule,
    LimitScope,
    Snapshot,
    Tenant,
    UpstreamKeyRecord,
    UpstreamSecret,
)
from .tenancy_base import TenancyStore


class NotFound(LookupError):
    """The named tenant, app or key does not exist."""


class Ambiguous(LookupError):
    """An app name that several tenants use, given without its tenant."""


class Conflict(ValueError):
    """The change contradicts the current state (a name taken, a lifecycle step out of order)."""


class StoreUnavailable(RuntimeError):
    """The store's server cannot be reached or refused us (the message names it, never a password)."""


class Store(TenancyStore):
    """Durable state. Every change bumps `generation()` in the same transaction, which is how
    workers learn that their tables are stale."""

    @abstractmethod
    def generation(self) -> int: ...

    @abstractmethod
    def bump_generation(self) -> int:
        """Something the workers serve changed outside the store (the node's config was reloaded):
        every worker rebuilds its tables. Returns the new generation."""

    @abstractmethod
    def ensure_tenant(self, name: str) -> Tenant: ...

    @abstractmethod
    def ensure_app(self, tenant: str, name: str, models: list[str]) -> App: ...

    @abstractmethod
    def list_tenants(self) -> list[Tenant]: ...

    @abstractmethod
    def list_apps(self, tenant: str | None = None) -> list[App]: ...

    @abstractmethod
    def create_key(
        self,
        app: str,
        tenant: str | None = None,
        name: str | None = None,
        *,
        expires_at: float | None = None,
        temporary: bool = False,
        max_requests: int | None = None,
        max_tokens: int | None = None,
        allowed: Allowed | None = None,
    ) -> tuple[ConsumerKey, str]:
        """Create a consumer key for `app` (of `tenant`, needed only when the app name is not
        unique); returns its record and the key itself, which is never stored. A temporary key
        expires at `expires_at` and may be capped and limited to some services, models and
        client networks."""

    @abstractmethod
    def revoke_key(self, key_id: str) -> ConsumerKey: ...

    @abstractmethod
    def list_keys(self, tenant: str | None = None, app: str | None = None) -> list[ConsumerKey]: ...

    @abstractmethod
    def set_limits(self, scope: LimitScope, subject: str, rules: list[LimitRule]) -> list[LimitRecord]:
        """Make `rules` the limits of `subject`. A rule of the same kind and period keeps its id
        (and so its bucket's state); others are added or removed."""

    @abstractmethod
    def list_limits(
        self, scope: LimitScope | None = None, subject: str | None = None
    ) -> list[LimitRecord]: ...

    @abstractmethod
    def add_upstream_key(self, provider: str, key_id: str, secret: str) -> UpstreamKeyRecord:
        """Store a provider key, its secret encrypted (Conflict if the id is taken)."""

    @abstractmethod
    def rotate_upstream_key(self, provider: str, key_id: str, secret: str) -> UpstreamKeyRecord:
        """Replace a stored provider key's secret; the id, and so its health record, stay."""

    @abstractmethod
    def remove_upstream_key(self, provider: str, key_id: str) -> UpstreamKeyRecord: ...

    @abstractmethod
    def list_upstream_keys(self) -> list[UpstreamKeyRecord]: ...

    @abstractmethod
    def upstream_secrets(self) -> list[UpstreamSecret]:
        """Every stored provider key, decrypted (for the supervisor's prober)."""

    @abstractmethod
    def set_budgets(self, scope: BudgetScope, subject: str, rules: list[BudgetRule]) -> list[BudgetRecord]:
        """Make `rules` the budgets of `subject`. A rule of the same kind and period keeps its id
        (and so what was used of it), whatever its new amount; others are added or removed."""

    @abstractmethod
    def list_budgets(
        self, scope: BudgetScope | None = None, subject: str | None = None
    ) -> list[BudgetRecord]: ...

    @abstractmethod
    def snapshot(self) -> Snapshot:
        """Everything the data plane needs to admit requests, read in one transaction."""

    @abstractmethod
    def close(self) -> None: ...
