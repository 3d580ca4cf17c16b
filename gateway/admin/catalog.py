"""The catalog's admin endpoint: every tenant's published services, for any tenant to find and
subscribe to."""

from __future__ import annotations

import msgspec
from aiohttp import web

from ..store import Store
from ..store.records import LimitRecord
from ..store.tenancy_records import SERVED_STATES
from .responses import json_response
from .routes import Endpoint


class CatalogVersion(msgspec.Struct, kw_only=True):
    version: int
    kind: str
    state: str
    model_group: str
    sunset_at: float | None = None


class CatalogEntry(msgspec.Struct, kw_only=True):
    """A service any tenant may find and subscribe to."""

    name: str
    tenant: str
    description: str
    approval: bool
    models: list[str]
    limits: list[LimitRecord]
    versions: list[CatalogVersion]


class CatalogAPI:
    def __init__(self, store: Store):
        self.store = store

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "GET",
                "/admin/catalog",
                "Published services of every tenant",
                list[CatalogEntry],
                self.catalog,
            ),
        ]

    async def catalog(self, request: web.Request) -> web.Response:
        limits = self.store.list_limits("service")
        entries = []
        for service in self.store.list_services():
            served = [v for v in service.versions if v.state in SERVED_STATES]
            if not served:
                continue
            entries.append(
                CatalogEntry(
                    name=service.name,
                    tenant=service.tenant,
                    description=service.description,
                    approval=service.approval,
                    models=sorted({v.model_group for v in served}),
                    limits=[r for r in limits if r.subject == service.name],
                    versions=[
                        CatalogVersion(
                            version=v.version,
                            kind=v.kind,
                            state=v.state,
                            model_group=v.model_group,
                            sunset_at=v.sunset_at,
                        )
                        for v in served
                    ],
                )
            )
        return json_response(entries)
