"""What the mock upstreams share: serving an aiohttp app (CLI or background thread), per-key rate
limits (gateway/mock/limits.py: a continuous or fixed-window limiter, each mock answering it in its
provider's headers and errors), and the deterministic answer rules (echo the last user text, or
call the first offered tool)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gateway.mock.limits import LIMITERS, RateLimits

# A user text that starts with one of these makes the mock misbehave on purpose.
ERROR_DIRECTIVE = "mock:error="  # mock:error=429 -> that status in the provider's error format
TRUNCATE_DIRECTIVE = "mock:truncate"  # the stream stops mid-answer, without its end event


@dataclass
class MockState:
    keys: set[str]  # accepted keys; empty = any non-empty key
    rate_limited: set[str]  # keys that always get 429
    limits: RateLimits  # per key
    requests: deque[Any] = field(default_factory=lambda: deque(maxlen=100))  # bodies received, newest last

    @classmethod
    def of(
        cls, keys: Iterable[str], rate_limited: Iterable[str], limits: RateLimits | None = None
    ) -> MockState:
        return cls(set(keys), set(rate_limited), limits or RateLimits(0, 0, 60.0))


STATE = web.AppKey("state", MockState)


def limits_of(args: argparse.Namespace) -> RateLimits:
    return RateLimits(args.rpm, args.tpm, args.window_s, args.limiter)


async def stats(request: web.Request) -> web.Response:
    """GET /_mock/stats: what the limits admitted and refused, as gateway.mock reports it."""
    limits = request.app[STATE].limits
    body = {"window_s": limits.window_s, "limiter": limits.limiter, "keys": limits.stats()}
    return web.json_response(body)


def args_for(schema: dict[str, Any] | None) -> dict[str, Any]:
    """Arguments for a tool call: a placeholder for every required property of the schema."""
    if not schema:
        return {}
    props = schema.get("properties") or {}
    return {name: placeholder(props.get(name) or {}) for name in schema.get("required") or ()}


def placeholder(schema: dict[str, Any]) -> Any:
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    kind = str(kind or "string").lower()
    if kind == "object":
        return args_for(schema)
    return {"integer": 1, "number": 1, "boolean": True, "array": [], "null": None}.get(kind, "mock")


def directive_status(text: str) -> int | None:
    if text.startswith(ERROR_DIRECTIVE):
        digits = text[len(ERROR_DIRECTIVE) :].split()[0] if text[len(ERROR_DIRECTIVE) :].strip() else ""
        return int(digits) if digits.isdigit() else 500
    return None


def tokens(text: str) -> int:
    """A stable stand-in for a tokenizer: about one token per four characters."""
    return max(1, (len(text) + 3) // 4)


def words(text: str) -> list[str]:
    """Text split into stream pieces that join back exactly ("Hello", " there", "!")."""
    pieces: list[str] = []
    for i, word in enumerate(text.split(" ")):
        pieces.append(word if i == 0 else " " + word)
    return [p for p in pieces if p]


def serve_main(
    prog: str, make_app: Callable[[argparse.Namespace], web.Application], argv: list[str] | None
) -> int:
    """`python -m tests.mocks.X --port 0`: print where it listens, then serve until a signal."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    parser.add_argument("--key", action="append", default=[], help="accepted key; none = any key; repeatable")
    parser.add_argument("--rate-limited-key", action="append", default=[], help="key that always gets 429")
    parser.add_argument("--rpm", type=int, default=0, help="requests per minute per key, 0 = unlimited")
    parser.add_argument("--tpm", type=int, default=0, help="input tokens per minute per key, 0 = unlimited")
    parser.add_argument("--window-s", type=float, default=60.0, help="length of the rate-limit minute")
    parser.add_argument("--limiter", choices=LIMITERS, default="continuous")
    args = parser.parse_args(argv)

    async def run() -> int:
        runner = web.AppRunner(make_app(args))
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port)
        await site.start()
        port = runner.addresses[0][1]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"mock listening on http://{host}:{port}", flush=True)  # launchers wait for this line
        await stop.wait()
        await runner.cleanup()
        return 0

    return asyncio.run(run())


class ServerThread:
    """An app on its own event loop in a daemon thread, for tests that drive it with sync SDKs."""

    def __init__(self, app: web.Application) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runner = web.AppRunner(app)
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=10)
        self.port = int(self.runner.addresses[0][1])
        self.url = f"http://127.0.0.1:{self.port}"

    async def _start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
