"""Answers every admin handler shares: JSON bodies, errors in one shape, the caller's principal."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from ..errors import GatewayError
from .access import Principal
from .routes import AdminError, AdminErrorBody

_encoder = msgspec.json.Encoder()
PRINCIPAL = web.RequestKey("principal", Principal)
# The tenant a request acted on, for the audit log (set by the handler when it authorizes).
AUDIT_TENANT = web.RequestKey("audit_tenant", str)


def json_response(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=_encoder.encode(value), status=status, content_type="application/json")


def admin_error(err: GatewayError) -> web.Response:
    """The admin listener's error body: OpenAI's shape without `param` (AdminError)."""
    return json_response(
        AdminError(AdminErrorBody(message=err.message, type=err.type, code=err.code)), err.status
    )


def error_response(status: int, code: str, message: str, type: str = "invalid_request_error") -> web.Response:
    return admin_error(GatewayError(status, type, code, message))


def principal(request: web.Request) -> Principal:
    """Who is calling; set by the admin listener's guard before any authenticated handler."""
    return request[PRINCIPAL]


async def decode(request: web.Request, type: Any) -> Any:
    """The JSON body as `type`; msgspec's errors become 400s in the admin listener."""
    return msgspec.json.decode(await request.read(), type=type)


def int_param(text: str | None, name: str) -> int | None:
    """A non-negative integer path or query parameter; None when absent, else a 400 naming it."""
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise msgspec.ValidationError(f"{name} must be an integer") from None
    if value < 0:
        raise msgspec.ValidationError(f"{name} must not be negative")
    return value
