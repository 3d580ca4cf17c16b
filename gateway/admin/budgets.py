"""Admin endpoints for budgets: set them per tenant, app or consumer key, and see what each has
used of its current period, read from the node's shared region (mounted by gateway/admin/app.py)."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from aiohttp import web

from ..admission import budgets
from ..store import Store
from ..store.records import BudgetRecord, BudgetRule
from .access import MANAGE
from .responses import AUDIT_TENANT, error_response, json_response, principal
from .routes import Endpoint, Param
from .tenant_scope import TenantScope

SCOPES = ("tenant", "app", "key")


class BudgetState(BudgetRecord, kw_only=True):
    """A budget and what its subject used of the current period on this node."""

    # Used in the current period; None when this listener has no view of the node's counters.
    used: int | None = None
    # When the current period ends (ISO 8601, UTC); None for lifetime budgets.
    resets_at: str | None = None


class BudgetAPI:
    def __init__(self, store: Store, scope: TenantScope, region: Any = None):
        self._store = store
        self._scope = scope
        self._region = region

    def endpoints(self) -> list[Endpoint]:
        where = (
            Param("scope", "path", "tenant, app or key"),
            Param("subject", "path", "tenant name, tenant/app (URL-encoded) or consumer key id"),
        )
        return [
            Endpoint(
                "GET",
                "/admin/budgets",
                "List budgets with what each has used of its current period",
                list[BudgetState],
                self.list_budgets,
                params=(
                    Param("scope", "query", "tenant, app or key"),
                    Param("subject", "query", "tenant name, tenant/app or consumer key id"),
                ),
            ),
            Endpoint(
                "PUT",
                "/admin/budgets/{scope}/{subject}",
                "Replace the budgets of a tenant, app or consumer key; a changed amount keeps what was used",
                list[BudgetState],
                self.set_budgets,
                request=list[BudgetRule],
                params=where,
                reaches_workers=True,
            ),
        ]

    def states(self, scope: str | None = None, subject: str | None = None) -> list[BudgetState]:
        now = int(time.time())
        out = []
        for r in self._store.list_budgets(scope, subject):  # type: ignore[arg-type]
            index = budgets.period_index(r.period, now)
            reset = budgets.resets_at(r.period, index)
            out.append(
                BudgetState(
                    **msgspec.structs.asdict(r),
                    used=None if self._region is None else self._region.budget_used(r.id, index),
                    resets_at=None
                    if reset is None
                    else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(reset)),
                )
            )
        return out

    def used_ratios(self) -> dict[tuple[str, str, str, str], float]:
        """Used / amount of each budget this node counts, by (scope, subject, kind, period): /metrics."""
        return {
            (b.scope, b.subject, b.kind, b.period): b.used / b.amount
            for b in self.states()
            if b.used is not None
        }

    async def list_budgets(self, request: web.Request) -> web.Response:
        scope = request.query.get("scope")
        if scope is not None and scope not in SCOPES:
            return error_response(400, "invalid_scope", f"scope must be one of {', '.join(SCOPES)}")
        states = self.states(scope, request.query.get("subject"))
        tenant = principal(request).tenant
        if tenant is not None:  # a tenant token sees its own tenant's budgets only
            states = [b for b in states if self._scope.subject_tenant(b.scope, b.subject) == tenant]
        return json_response(states)

    async def set_budgets(self, request: web.Request) -> web.Response:
        scope, subject = request.match_info["scope"], request.match_info["subject"]
        if scope not in SCOPES:
            return error_response(400, "invalid_scope", f"scope must be one of {', '.join(SCOPES)}")
        tenant = self._scope.subject_tenant(scope, subject)
        principal(request).require(tenant, MANAGE)
        request[AUDIT_TENANT] = tenant or ""
        try:
            rules = msgspec.json.decode(await request.read(), type=list[BudgetRule])
            self._store.set_budgets(scope, subject, rules)  # type: ignore[arg-type]
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
            return error_response(400, "invalid_request", f"Invalid request body: {exc}")
        return json_response(self.states(scope, subject))
