"""Admin endpoints for consumer keys beyond create, list and revoke: rotation with an overlap, and
temporary keys (a TTL, request and token caps, allowed services, models and networks)."""

from __future__ import annotations

import ipaddress
import time

import msgspec
from aiohttp import web

from .access import DEVELOP
from .responses import decode, json_response
from .routes import CreatedKey, CreateTemporaryKey, Endpoint, Param, RotateKey
from .tenant_scope import ScopedAPI


class ConsumerKeysAPI(ScopedAPI):
    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "POST",
                "/admin/keys/{key_id}/rotate",
                "A new key for the same app; the old one works for overlap_s more; shown once",
                CreatedKey,
                self.rotate_key,
                request=RotateKey,
                params=(Param("key_id", "path", "The key's id"),),
                status=201,
                reaches_workers=True,
            ),
            Endpoint(
                "POST",
                "/admin/temporary-keys",
                "A key with a TTL and optional request/token caps and allowances; shown once",
                CreatedKey,
                self.create_temporary_key,
                request=CreateTemporaryKey,
                status=201,
                reaches_workers=True,
            ),
        ]

    async def rotate_key(self, request: web.Request) -> web.Response:
        key = self.scope.require_key(request, request.match_info["key_id"], DEVELOP)
        body: RotateKey = await decode(request, RotateKey) if await request.read() else RotateKey()
        record, secret = self.store.rotate_key(key.id, body.overlap_s)
        return json_response(CreatedKey(record=record, key=secret), 201)

    async def create_temporary_key(self, request: web.Request) -> web.Response:
        body: CreateTemporaryKey = await decode(request, CreateTemporaryKey)
        tenant = self.scope.require_app(request, body.app, body.tenant, DEVELOP)
        if body.allowed is not None and body.allowed.networks:
            _check_networks(body.allowed.networks)
        record, secret = self.store.create_key(
            body.app,
            tenant,
            body.name,
            expires_at=time.time() + body.ttl_s,
            temporary=True,
            max_requests=body.max_requests,
            max_tokens=body.max_tokens,
            allowed=body.allowed,
        )
        return json_response(CreatedKey(record=record, key=secret), 201)


def _check_networks(networks: list[str]) -> None:
    for i, network in enumerate(networks):
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise msgspec.ValidationError(
                f"not a network: {network!r} - at `$.allowed.networks[{i}]`"
            ) from None
