"""The audit log's admin endpoint: who did what, when, from where, newest first, a page at a time."""

from __future__ import annotations

from aiohttp import web

from ..store.tenancy_records import AuditEntry
from .access import MANAGE
from .responses import int_param, json_response
from .routes import Endpoint, Param
from .tenant_scope import ScopedAPI


class AuditAPI(ScopedAPI):
    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "GET",
                "/admin/audit",
                "The audit log, newest first: who did what, when, from where",
                list[AuditEntry],
                self.list_audit,
                params=(
                    Param("tenant", "query", "Only this tenant's entries"),
                    Param("before", "query", "Entries with a smaller id (the next page)"),
                    Param("limit", "query", "At most this many (default 100, at most 1000)"),
                ),
                tenant_query=True,
            ),
        ]

    async def list_audit(self, request: web.Request) -> web.Response:
        q = request.query
        tenant = q.get("tenant")
        self.scope.require_listing(request, tenant, MANAGE)
        before = int_param(q.get("before"), "before")
        limit = min(int_param(q.get("limit"), "limit") or 100, 1000)
        return json_response(self.store.list_audit(tenant, before, limit))
