"""An OpenAI-compatible upstream that holds answers until the test lets them go, so a test knows
exactly which requests are in flight on which node (by the provider key it sent) while it signals
one.

A stream sends its role and first content events at once, then waits for `release()`; a plain
completion whose last user message is HOLD waits too, and any other answers at once. Every
request received is counted by its text, so a test can tell whether one was sent twice."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from typing import Any

from aiohttp import web

from ..mocks.common import ServerThread

HOLD = "hold this one"
FIRST, REST = "first part,", [" second part,", " last part."]


def _chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    doc: dict[str, Any] = {
        "id": "chatcmpl-held",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "gpt-4o-mini",
        "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage:
        doc["usage"] = usage
    return b"data: " + json.dumps(doc).encode() + b"\n\n"


class HeldUpstream:
    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.holding_by: Counter[str] = Counter()  # answers held, by the provider key that asked
        self._lock = threading.Lock()
        self._release = asyncio.Event()  # bound to the server's loop on its first wait
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self.server = ServerThread(app)
        self.url = self.server.url

    def release(self) -> None:
        """Let every held answer (and every later one) finish."""
        self.server.loop.call_soon_threadsafe(self._release.set)

    @property
    def holding(self) -> int:
        with self._lock:
            return sum(self.holding_by.values())

    def wait_holding(self, n: int, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while self.holding < n:
            assert time.monotonic() < deadline, f"{self.holding} answers held, waited for {n}"
            time.sleep(0.01)  # polling a counter the server's thread moves

    def close(self) -> None:
        self.release()
        self.server.close()

    async def _held(self, key: str) -> None:
        with self._lock:
            self.holding_by[key] += 1
        try:
            await self._release.wait()
        finally:
            with self._lock:
                self.holding_by[key] -= 1

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        text = body["messages"][-1]["content"]
        with self._lock:
            self.received[text] += 1
        usage = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
        if not body.get("stream"):
            if text == HOLD:
                await self._held(key)
            message = {"role": "assistant", "content": FIRST + "".join(REST)}
            return web.json_response(
                {
                    "id": "chatcmpl-held",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": "gpt-4o-mini",
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": usage,
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(_chunk({"role": "assistant", "content": ""}) + _chunk({"content": FIRST}))
        await self._held(key)
        for part in REST:
            await response.write(_chunk({"content": part}))
        await response.write(_chunk({}, finish="stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            await response.write(_chunk({}, usage=usage))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
