"""Who is calling the admin API, and what they may do (docs/tenancy.md).

A principal is an admin token's holder: the operator (AIGW_ADMIN_TOKEN, or a stored global
token) may do anything; a tenant token acts with its user's current role in that one tenant, so
demoting or removing a member takes effect on their next request.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from ..store.tenancy_records import ROLES

OPERATOR = "operator"
# What an endpoint needs, as the least role that has it.
READ, DEVELOP, MANAGE, OWN = ROLES


class Forbidden(Exception):
    """The principal may not do this (answered 403; the message says what was needed)."""


class Unauthorized(Exception):
    """No valid admin token (answered 401)."""


@dataclass(frozen=True, slots=True)
class Principal:
    user: str
    token_id: str
    # None: global (the operator); else the only tenant this principal sees.
    tenant: str | None
    role: str

    @property
    def is_operator(self) -> bool:
        return self.tenant is None

    def require(self, tenant: str | None, least: str) -> None:
        """Raise Forbidden unless this principal may act on `tenant` (None: node-wide things,
        operator only) with at least role `least`."""
        if self.is_operator:
            return
        if tenant is None:
            raise Forbidden("this needs a global (operator) admin token")
        if tenant != self.tenant:
            # Same answer whether or not the other tenant exists: nothing leaks across.
            raise Forbidden(f"this token acts for tenant {self.tenant!r} only")
        if ROLES.index(self.role) < ROLES.index(least):
            raise Forbidden(f"this needs the {least} role in tenant {tenant!r}; {self.user!r} is {self.role}")


def bootstrap_principal(given: str, token: str | None) -> Principal | None:
    """The operator, when `given` is AIGW_ADMIN_TOKEN."""
    if token and hmac.compare_digest(given.encode(), token.encode()):
        return Principal(user=OPERATOR, token_id="env:AIGW_ADMIN_TOKEN", tenant=None, role=OPERATOR)
    return None
