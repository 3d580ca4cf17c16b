"""A translation-only stand-in for the gateway, for tests: one adapter, one upstream, one key.

It wires the pieces in the order the data plane will (decode, translate, send, translate back,
relay chunk by chunk) so the official SDKs can be pointed at real translation over real HTTP
without admission, key pools or config. Not a model of the data plane's error handling.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from gateway.errors import GatewayError, anthropic_json, openai_json
from gateway.ingress import anthropic as ingress
from gateway.ingress.anthropic_stream import MessagesStream
from gateway.providers.base import Adapter, StreamTranslator
from gateway.providers.canonical import ChatRequest, decode_chat

ADAPTER = web.AppKey("adapter", object)
UPSTREAM = web.AppKey("upstream", str)
MODEL = web.AppKey("model", str)
KEY = web.AppKey("key", str)


def create_bridge(adapter: Adapter, upstream_url: str, upstream_model: str, key: str) -> web.Application:
    app = web.Application()
    app[ADAPTER] = adapter
    app[UPSTREAM] = upstream_url.rstrip("/")
    app[MODEL] = upstream_model
    app[KEY] = key
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/messages", messages)
    return app


async def chat(request: web.Request) -> web.StreamResponse:
    canonical = decode_chat(await request.read())
    try:
        return await _forward(request, canonical, None)
    except GatewayError as err:
        return web.Response(status=err.status, body=openai_json(err), content_type="application/json")


async def messages(request: web.Request) -> web.StreamResponse:
    try:
        canonical = ingress.chat_request(await request.read())
        return await _forward(request, canonical, MessagesStream(canonical.model))
    except GatewayError as err:
        return web.Response(status=err.status, body=anthropic_json(err), content_type="application/json")


async def _forward(
    request: web.Request, canonical: ChatRequest, outer: MessagesStream | None
) -> web.StreamResponse:
    app = request.app
    adapter: Any = app[ADAPTER]
    call = adapter.chat_call(canonical, app[MODEL], app[UPSTREAM])
    headers = {**call.headers, **adapter.auth_headers(app[KEY])}
    async with (
        aiohttp.ClientSession() as session,
        session.post(app[UPSTREAM] + call.path, data=call.body, headers=headers) as upstream,
    ):
        if not canonical.stream or upstream.status != 200:
            status, body = adapter.chat_response(upstream.status, await upstream.read(), canonical.model)
            if outer is not None:
                status, body = ingress.message_response(status, body, canonical.model)
            return web.Response(status=status, body=body, content_type="application/json")
        translator: StreamTranslator = adapter.chat_stream(canonical.model, canonical.wants_usage)
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        async for piece in upstream.content.iter_any():
            out = translator.feed(piece)
            await resp.write(outer.feed(out) if outer is not None else out)
        tail = translator.close()
        await resp.write(outer.feed(tail) + outer.close() if outer is not None else tail)
        return resp
