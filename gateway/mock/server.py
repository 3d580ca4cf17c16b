"""Mock OpenAI provider: a lean HTTP/1.1 server that speaks OpenAI's wire format.

It is the upstream for gateway demos, tests and load benchmarks, so the hot path avoids
per-request regexes and dict-heavy header handling: header blocks are precomputed bytes,
request bodies are decoded straight into msgspec structs, and responses are joined bytes.

One module per job: http (the protocol), chat and embeddings (the answers), limits (per-key
rate limits), errors (OpenAI's error bodies), framing (response bytes); this one routes,
authenticates and answers the test-control endpoints under /_mock/.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Callable
from email.utils import formatdate

import msgspec

from . import errors, limit_answers
from .chat import chat
from .config import MockConfig, MockKey
from .embeddings import embeddings
from .framing import CLOSE, JSON_HEAD, KEEP, Stream
from .http import Connection, Request
from .limits import RateLimits

__all__ = ["MockConfig", "MockKey", "MockServer", "start_mock_server", "stop_mock_server"]

_encode = msgspec.json.Encoder().encode
_MODEL_CREATED = 1686935002  # fixed so /v1/models is byte-stable
# What a key in each test-control state answers (the request log records it).
_STATE_STATUS = {"revoked": 401, "quota": 429, "error": 500}


class MockServer:
    """Config-derived constants plus mutable counters, shared by all connections of one server."""

    def __init__(self, cfg: MockConfig) -> None:
        self.cfg = cfg
        self.latency = cfg.latency_ms / 1000.0
        self.interval = cfg.chunk_interval_ms / 1000.0
        # rpm/tpm are per minute; tests scale the minute down to keep the suite fast.
        self.limits = RateLimits(cfg.rpm, cfg.tpm, cfg.window_s, cfg.limiter)
        self.open_mode = not cfg.keys
        # Pre-built "Bearer <key>" header values so auth is a single dict lookup.
        self.labels: dict[str, str] = {k.value: k.id or k.value[-4:] for k in cfg.keys}
        self.auth: dict[bytes, str] = {b"Bearer " + k.encode(): v for k, v in self.labels.items()}
        self.counts: dict[str, int] = {}
        self.total = 0
        self.conns: set[Connection] = set()
        self.chat_tails: dict[tuple[str, str, str, int, int], bytes] = {}
        self.models_body = _encode(
            {
                "object": "list",
                "data": [
                    {"id": m, "object": "model", "created": _MODEL_CREATED, "owned_by": "system"}
                    for m in cfg.models
                ],
            }
        )
        self._rid_prefix = os.urandom(8).hex()
        self._seq = 0
        self._date_sec = -1
        self._date = b""
        self.reset()

    def reset(self) -> None:
        self.counts = dict.fromkeys(self.labels.values(), 0)
        self.total = 0
        self.limits.reset()
        self.key_states: dict[str, str] = {}
        # Requests to keys test control put in a state: (Unix time answered, key label, status).
        self.log: deque[tuple[float, str, int]] = deque(maxlen=100_000)

    def next_id(self) -> str:
        self._seq += 1
        return f"{self._rid_prefix}{self._seq:016x}"

    def date(self) -> bytes:
        now = int(time.time())
        if now != self._date_sec:
            self._date_sec = now
            self._date = b"date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
        return self._date

    # ---- rate limits ------------------------------------------------------

    def admit(self, req: Request, label: str, model: str, tokens: int, now: float) -> bytes | None:
        """None when the key's limits take the request, else the 429 to answer."""
        refused = self.limits.admit(label, tokens, now)
        if refused is None:
            return None
        status, body, wait = limit_answers.refusal(refused, model, tokens)
        extra = self.ratelimit_headers(label, now) + limit_answers.retry_after(wait)
        return self.json_response(req, status, body, extra)

    def ratelimit_headers(self, label: str, now: float) -> bytes:
        return limit_answers.headers(self.limits, label, now) if self.cfg.limit_headers else b""

    # ---- response assembly --------------------------------------------------

    def json_response(self, req: Request, status: int, body: bytes, extra: bytes = b"") -> bytes:
        return b"".join(
            (
                JSON_HEAD[status],
                self.date(),
                b"content-length: %d\r\nx-request-id: req_%s\r\nopenai-processing-ms: %d\r\n"
                % (len(body), self.next_id().encode(), (time.monotonic() - req.t0) * 1000),
                extra,
                KEEP if req.keep_alive else CLOSE,
                body,
            )
        )

    # ---- routing ------------------------------------------------------------

    def handle(self, req: Request) -> bytes | Stream:
        path = req.path
        if path.startswith(b"/_mock/"):
            return self._control(req)
        self.total += 1
        route = _ROUTES.get(path)
        if route is None:
            return self.json_response(req, 404, errors.invalid_url(req.method, path))
        method, handler = route
        if req.method != method:
            body = errors.error_body(
                f"Invalid method for URL ({req.method.decode()} {path.decode()})", "invalid_request_error"
            )
            return self.json_response(req, 405, body, b"allow: %s\r\n" % method)
        label = self._authenticate(req)
        if isinstance(label, tuple):
            return self.json_response(req, *label)
        self.counts[label] = self.counts.get(label, 0) + 1
        state = self.key_states.get(label)
        if state is not None:
            # Test control took this key out of service: every answer goes in the request log.
            self.log.append((time.time(), label, _STATE_STATUS.get(state, 200)))
        if state == "revoked":
            return self.json_response(req, 401, errors.REVOKED)
        if state == "quota" and path != b"/v1/models":
            return self.json_response(req, 429, errors.QUOTA)
        if state == "error":
            return self.json_response(req, 500, errors.SERVER)
        try:
            return handler(self, req, label)
        except Exception:  # a mock must answer like OpenAI, never drop the connection
            return self.json_response(req, 500, errors.SERVER)

    def _authenticate(self, req: Request) -> str | tuple[int, bytes]:
        auth = req.auth
        if auth is None:
            return errors.NO_KEY
        label = self.auth.get(auth)
        if label is not None:
            return label
        # Slow path: scheme case, extra spaces, or open mode.
        scheme, _, token = auth.decode("latin-1").strip().partition(" ")
        key = token.strip()
        if scheme.lower() != "bearer" or not key:
            return errors.NO_KEY
        label = self.labels.get(key)
        if label is not None:
            return label
        if self.open_mode:
            return key[-4:]
        return errors.bad_key(key)

    def _control(self, req: Request) -> bytes:
        if req.path.startswith(b"/_mock/keys/") and req.method == b"POST":
            # Test control: {"state": "ok" | "quota" | "revoked" | "error"} for the key with this label.
            label = req.path[len(b"/_mock/keys/") :].decode()
            state = msgspec.json.decode(req.body or b"{}").get("state", "ok")
            self.key_states[label] = state
            return self.json_response(req, 200, _encode({"key": label, "state": state}))
        if req.path == b"/_mock/stats" and req.method == b"GET":
            body = _encode(
                {
                    "requests_by_key": self.counts,
                    "total": self.total,
                    "window_s": self.limits.window_s,
                    "limiter": self.limits.limiter,
                    "keys": self.limits.stats(),
                }
            )
            return self.json_response(req, 200, body)
        if req.path == b"/_mock/log" and req.method == b"GET":
            # Since a key was put in a state: when each request to it was answered, and how.
            entries = [{"at": at, "key": label, "status": status} for at, label, status in self.log]
            return self.json_response(req, 200, _encode({"requests": entries}))
        if req.path == b"/_mock/reset" and req.method == b"POST":
            self.reset()
            return self.json_response(req, 200, b'{"ok":true}')
        status = 405 if req.path in (b"/_mock/stats", b"/_mock/reset", b"/_mock/log") else 404
        return self.json_response(req, status, errors.invalid_url(req.method, req.path))


def _models(state: MockServer, req: Request, label: str) -> bytes:
    extra = state.ratelimit_headers(label, time.monotonic())
    return state.json_response(req, 200, state.models_body, extra)


_ROUTES: dict[bytes, tuple[bytes, Callable[[MockServer, Request, str], bytes | Stream]]] = {
    b"/v1/chat/completions": (b"POST", chat),
    b"/v1/embeddings": (b"POST", embeddings),
    b"/v1/models": (b"GET", _models),
}


# --------------------------------------------------------------------------- public API

_SERVERS: dict[int, MockServer] = {}  # id(server) -> its state, for stop_mock_server()


async def start_mock_server(cfg: MockConfig) -> tuple[asyncio.Server, int]:
    """Bind and start serving on the running loop; returns the server and the bound port."""
    state = MockServer(cfg)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Connection(state), cfg.host, cfg.port, backlog=2048, ssl=cfg.tls()
    )
    _SERVERS[id(server)] = state
    port = server.sockets[0].getsockname()[1]
    return server, port


async def stop_mock_server(server: asyncio.Server) -> None:
    """Stop listening and close open keep-alive connections (wait_closed may wait on them)."""
    server.close()
    state = _SERVERS.pop(id(server), None)
    if state is not None:
        for conn in list(state.conns):
            conn.close()
    await server.wait_closed()
