"""The store's tenancy interface (docs/tenancy.md); gateway/store/access.py and services.py implement it."""

from __future__ import annotations

from abc import ABC, abstractmethod

from .records import ConsumerKey
from .tenancy_records import (
    AdminToken,
    AuditEntry,
    Member,
    NewService,
    NewVersion,
    Service,
    ServiceVersion,
    Subscription,
)


class TenancyStore(ABC):
    @abstractmethod
    def resolve_app(self, app: str, tenant: str | None) -> tuple[int, str]:
        """The app's id and its tenant's name (NotFound, or Ambiguous without the tenant)."""

    @abstractmethod
    def get_key(self, key_id: str) -> ConsumerKey: ...

    @abstractmethod
    def rotate_key(self, key_id: str, overlap_s: float) -> tuple[ConsumerKey, str]:
        """A new key for the same app; the old one keeps working for `overlap_s` seconds."""

    @abstractmethod
    def set_member(self, tenant: str, user: str, role: str) -> Member: ...

    @abstractmethod
    def remove_member(self, tenant: str, user: str) -> None: ...

    @abstractmethod
    def member(self, tenant: str, user: str) -> Member | None: ...

    @abstractmethod
    def list_members(self, tenant: str) -> list[Member]: ...

    @abstractmethod
    def create_admin_token(
        self, user: str, tenant: str | None, expires_at: float | None = None
    ) -> tuple[AdminToken, str]: ...

    @abstractmethod
    def admin_token(self, token_id: str) -> AdminToken: ...

    @abstractmethod
    def admin_token_by_secret(self, secret: str) -> AdminToken | None:
        """The live token this secret is, or None (unknown, revoked or expired)."""

    @abstractmethod
    def list_admin_tokens(self, tenant: str | None = None) -> list[AdminToken]: ...

    @abstractmethod
    def revoke_admin_token(self, token_id: str) -> AdminToken: ...

    @abstractmethod
    def audit(
        self, actor: str, token_id: str, tenant: str, method: str, path: str, status: int, client: str
    ) -> None: ...

    @abstractmethod
    def list_audit(
        self, tenant: str | None, before: int | None = None, limit: int = 100
    ) -> list[AuditEntry]: ...

    @abstractmethod
    def create_service(self, new: NewService) -> Service: ...

    @abstractmethod
    def service(self, name: str) -> Service: ...

    @abstractmethod
    def list_services(self, tenant: str | None = None) -> list[Service]: ...

    @abstractmethod
    def add_version(self, name: str, new: NewVersion) -> ServiceVersion: ...

    @abstractmethod
    def transition(self, name: str, version: int, action: str, sunset_at: float | None) -> ServiceVersion: ...

    @abstractmethod
    def subscribe(self, service: str, app: str, tenant: str | None) -> Subscription: ...

    @abstractmethod
    def subscription(self, subscription_id: int) -> Subscription: ...

    @abstractmethod
    def list_subscriptions(self, tenant: str | None = None) -> list[Subscription]:
        """All, or those a tenant is party to: its apps' and those to its services."""

    @abstractmethod
    def decide(self, subscription_id: int, state: str, reason: str, by: str) -> Subscription: ...
