"""Mock OpenAI provider: a lean HTTP/1.1 server that speaks OpenAI's wire format.

It is the upstream for gateway demos, tests and load benchmarks, so the hot path avoids
per-request regexes and dict-heavy header handling: header blocks are precomputed bytes,
request bodies are decoded straight into msgspec structs, and responses are joined bytes.
"""

from __future__ import annotations

import array
import asyncio
import base64
import functools
import hashlib
import math
import os
import sys
import time
from collections import deque
from email.utils import formatdate
from typing import Any

import httptools
import msgspec

from ..durations import go_duration

__all__ = ["MockConfig", "MockKey", "start_mock_server", "stop_mock_server"]


# --------------------------------------------------------------------------- config


class MockKey(msgspec.Struct):
    value: str
    id: str | None = None  # non-secret label used in /_mock/stats


class MockConfig(msgspec.Struct):
    host: str = "127.0.0.1"
    port: int = 0
    # No keys configured = open mode: any Bearer key is accepted (a key is still required).
    keys: list[MockKey] = msgspec.field(default_factory=list)
    models: list[str] = msgspec.field(default_factory=lambda: ["gpt-4o-mini", "text-embedding-3-small"])
    latency_ms: float = 0
    rpm: int = 0  # per key, 0 = unlimited
    window_s: float = 60.0  # the length of the rate-limit "minute" (shorter in tests)
    tpm: int = 0  # per key, 0 = unlimited
    stream_chunks: int | None = None
    chunk_interval_ms: float = 0


# Windows per key kept for /_mock/stats.
HISTORY_WINDOWS = 1000


# --------------------------------------------------------------------------- request schemas
# Typed decoding is faster than dicts and unknown fields are ignored, like OpenAI's lenient parsing.


class _Part(msgspec.Struct):
    type: str = "text"
    text: str | None = None


class _Message(msgspec.Struct):
    role: str
    content: str | list[_Part] | None = None


class _StreamOptions(msgspec.Struct):
    include_usage: bool | None = None


class _ChatRequest(msgspec.Struct):
    model: str
    messages: list[_Message]
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    stream: bool | None = None
    stream_options: _StreamOptions | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    n: int | None = None


class _EmbeddingRequest(msgspec.Struct):
    model: str
    input: str | list[str | int | list[int]]
    dimensions: int | None = None
    encoding_format: str | None = None


_chat_decoder = msgspec.json.Decoder(_ChatRequest)
_embedding_decoder = msgspec.json.Decoder(_EmbeddingRequest)
_encode = msgspec.json.Encoder().encode

# --------------------------------------------------------------------------- wire constants


_MAX_BODY = 32 * 1024 * 1024
_DEFAULT_DIMENSIONS = 8
_FINGERPRINT = "fp_mock"
_ORG = "org-mock"
_MODEL_CREATED = 1686935002  # fixed so /v1/models is byte-stable

_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    401: b"Unauthorized",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Payload Too Large",
    429: b"Too Many Requests",
    500: b"Internal Server Error",
}
_JSON_HEAD = {
    code: b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\nopenai-version: 2020-10-01\r\n"
    % (code, reason)
    for code, reason in _REASONS.items()
}
# OpenAI streams with this content type; the media type is text/event-stream.
_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
    b"transfer-encoding: chunked\r\nopenai-version: 2020-10-01\r\n"
)
_KEEP = b"connection: keep-alive\r\n\r\n"
_CLOSE = b"connection: close\r\n\r\n"

_RL_URL = "Visit https://platform.openai.com/account/rate-limits to learn more."
_MSG_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank "
    "username) if you're accessing the API from your browser and are prompted for a username and "
    "password. You can obtain an API key from https://platform.openai.com/account/api-keys."
)
_MSG_BAD_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
    "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
    "valid JSON. If you have trouble figuring out how to fix this, please contact us through our "
    "help center at help.openai.com.)"
)
_MSG_SERVER = "The server had an error while processing your request. Sorry about that!"

_USAGE_DETAILS: dict[str, Any] = {
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


def _error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> bytes:
    return _encode({"error": {"message": message, "type": type_, "param": param, "code": code}})


def _invalid(message: str, param: str | None = None, code: str | None = None) -> tuple[int, bytes]:
    return 400, _error_body(message, "invalid_request_error", param, code)


_REVOKED = _error_body(
    "Incorrect API key provided: sk-****. You can find your API key at https://platform.openai.com/account/api-keys.",
    "invalid_request_error",
    None,
    "invalid_api_key",
)
# What a key in each test-control state answers (the request log records it).
_STATE_STATUS = {"revoked": 401, "quota": 429, "error": 500}
_QUOTA = _error_body(
    "You exceeded your current quota, please check your plan and billing details. For more information "
    "on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
    "insufficient_quota",
    None,
    "insufficient_quota",
)
_BAD_JSON = (400, _error_body(_MSG_BAD_JSON, "invalid_request_error"))
_NO_KEY = (401, _error_body(_MSG_NO_KEY, "invalid_request_error"))


def _mask_key(key: str) -> str:
    # OpenAI echoes a masked key ("sk-XG6GW****...wlmi"); never echo a short key in full.
    if len(key) <= 12:
        return "*" * len(key)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def _words(text: str) -> int:
    return len(text.split())


def _message_text(msg: _Message) -> str:
    content = msg.content
    if content is None or isinstance(content, str):
        return content or ""
    return " ".join(p.text for p in content if p.type == "text" and p.text)


@functools.lru_cache(maxsize=256)
def _embedding(text: str, dims: int) -> tuple[list[float], str]:
    """Deterministic unit vector from a hash of the text, as float32 (base64 is float32 LE)."""
    raw = array.array("H", hashlib.shake_256(text.encode()).digest(2 * dims))
    if sys.byteorder == "big":
        raw.byteswap()
    vec = [v / 32767.5 - 1.0 for v in raw]
    norm = math.sqrt(math.fsum(v * v for v in vec)) or 1.0
    f32 = array.array("f", [v / norm for v in vec])
    floats = f32.tolist()  # float32-exact, so float and base64 responses decode identically
    if sys.byteorder == "big":
        f32.byteswap()
    return floats, base64.b64encode(f32.tobytes()).decode()


def _validation_error(exc: msgspec.ValidationError) -> tuple[int, bytes]:
    # msgspec says e.g. "Expected `int`, got `str` - at `$.max_tokens`"; map it to OpenAI's shape.
    msg, _, at = str(exc).partition(" - at `$")
    path = at.rstrip("`").lstrip(".")
    prefix = "Object missing required field `"
    if msg.startswith(prefix):
        name = msg[len(prefix) : -1]
        param = f"{path}.{name}" if path else name
        return _invalid(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")
    if not path:
        return _invalid(f"Invalid request body: {msg[:1].lower()}{msg[1:]}.", None, "invalid_type")
    return _invalid(f"Invalid type for '{path}': {msg[:1].lower()}{msg[1:]}.", path, "invalid_type")


def _out_of_range(param: str, value: int, low: int, high: int) -> tuple[int, bytes] | None:
    if value < low:
        return _invalid(
            f"Invalid '{param}': integer below minimum value. Expected a value >= {low}, "
            f"but got {value} instead.",
            param,
            "integer_below_min_value",
        )
    if value > high:
        return _invalid(
            f"Invalid '{param}': integer above maximum value. Expected a value <= {high}, "
            f"but got {value} instead.",
            param,
            "integer_above_max_value",
        )
    return None


# --------------------------------------------------------------------------- streaming plan


class _Stream:
    """A streamed answer: sent in one write, or paced when chunk_interval_ms is set."""

    __slots__ = ("head", "opening", "steps", "tail")

    def __init__(self, head: bytes, opening: bytes, steps: list[bytes], tail: bytes) -> None:
        self.head = head
        self.opening = opening  # role chunk(s)
        self.steps = steps  # one entry per content chunk (n events when n > 1)
        self.tail = tail  # finish chunk(s), usage chunk, [DONE], chunked terminator

    def joined(self) -> bytes:
        return b"".join((self.head, self.opening, *self.steps, self.tail))


def _frame(data: bytes) -> bytes:
    # One SSE event per HTTP chunk, as OpenAI does.
    return b"%x\r\n%s\r\n" % (len(data), data)


_DONE = _frame(b"data: [DONE]\n\n")
_END = b"0\r\n\r\n"


# --------------------------------------------------------------------------- server state


class _State:
    """Config-derived constants plus mutable counters, shared by all connections of one server."""

    def __init__(self, cfg: MockConfig) -> None:
        self.cfg = cfg
        self.latency = cfg.latency_ms / 1000.0
        self.interval = cfg.chunk_interval_ms / 1000.0
        self.rpm = cfg.rpm
        # rpm/tpm are per minute; tests scale the minute down to keep the suite fast.
        self.window_s = cfg.window_s
        self.tpm = cfg.tpm
        self.open_mode = not cfg.keys
        # Pre-built "Bearer <key>" header values so auth is a single dict lookup.
        self.labels: dict[str, str] = {k.value: k.id or k.value[-4:] for k in cfg.keys}
        self.auth: dict[bytes, str] = {b"Bearer " + k.encode(): v for k, v in self.labels.items()}
        self.counts: dict[str, int] = {}
        self.total = 0
        self.windows: dict[str, list[float]] = {}  # label -> [start, requests, tokens, full_at]
        # Each key's recent windows, for tests to know exactly when the mock would admit again.
        self.history: dict[str, deque[list[float]]] = {}
        self.conns: set[_Connection] = set()
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
        self.windows.clear()
        self.history.clear()
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

    def _window(self, label: str, now: float) -> list[float]:
        # Fixed window anchored at the key's first request: deterministic for tests, O(1) per request.
        win = self.windows.get(label)
        if win is None or now - win[0] >= self.window_s:
            win = self.windows[label] = [now, 0, 0, -1.0]
            self.history.setdefault(label, deque(maxlen=HISTORY_WINDOWS)).append(win)
        return win

    def ratelimit_headers(self, label: str, now: float) -> bytes:
        if not (self.rpm or self.tpm):
            return b""
        win = self.windows.get(label)
        if win is None or now - win[0] >= self.window_s:
            used_r = used_t = 0
            reset = "0s"
        else:
            used_r, used_t = int(win[1]), int(win[2])
            reset = go_duration(win[0] + self.window_s - now)
        out = b""
        if self.rpm:
            out += (
                b"x-ratelimit-limit-requests: %d\r\nx-ratelimit-remaining-requests: %d\r\n"
                b"x-ratelimit-reset-requests: %s\r\n"
                % (self.rpm, max(0, self.rpm - used_r), (reset if used_r else "0s").encode())
            )
        if self.tpm:
            out += (
                b"x-ratelimit-limit-tokens: %d\r\nx-ratelimit-remaining-tokens: %d\r\n"
                b"x-ratelimit-reset-tokens: %s\r\n"
                % (self.tpm, max(0, self.tpm - used_t), (reset if used_t else "0s").encode())
            )
        return out

    def admit(self, label: str, model: str, tokens: int, now: float) -> tuple[int, bytes, float] | None:
        """Consume one request and `tokens` from the key's window, or describe the 429."""
        if not (self.rpm or self.tpm):
            return None
        win = self._window(label, now)
        wait = win[0] + self.window_s - now
        if self.rpm and win[1] >= self.rpm:
            msg = (
                f"Rate limit reached for {model} in organization {_ORG} on requests per min (RPM): "
                f"Limit {self.rpm}, Used {int(win[1])}, Requested 1. "
                f"Please try again in {go_duration(wait)}. {_RL_URL}"
            )
            return 429, _error_body(msg, "requests", None, "rate_limit_exceeded"), wait
        if self.tpm and tokens > self.tpm:
            msg = (
                f"Request too large for {model} in organization {_ORG} on tokens per min (TPM): "
                f"Limit {self.tpm}, Requested {tokens}. The input or output tokens must be reduced "
                f"in order to run successfully. {_RL_URL}"
            )
            return 429, _error_body(msg, "tokens", None, "rate_limit_exceeded"), 0.0
        if self.tpm and win[2] + tokens > self.tpm:
            msg = (
                f"Rate limit reached for {model} in organization {_ORG} on tokens per min (TPM): "
                f"Limit {self.tpm}, Used {int(win[2])}, Requested {tokens}. "
                f"Please try again in {go_duration(wait)}. {_RL_URL}"
            )
            return 429, _error_body(msg, "tokens", None, "rate_limit_exceeded"), wait
        win[1] += 1
        win[2] += tokens
        if win[1] == self.rpm:
            win[3] = now
        return None

    # ---- response assembly --------------------------------------------------

    def json_response(self, req: _Request, status: int, body: bytes, extra: bytes = b"") -> bytes:
        return b"".join(
            (
                _JSON_HEAD[status],
                self.date(),
                b"content-length: %d\r\nx-request-id: req_%s\r\nopenai-processing-ms: %d\r\n"
                % (len(body), self.next_id().encode(), (time.monotonic() - req.t0) * 1000),
                extra,
                _KEEP if req.keep_alive else _CLOSE,
                body,
            )
        )

    # ---- routing ------------------------------------------------------------

    def handle(self, req: _Request) -> bytes | _Stream:
        path = req.path
        if path.startswith(b"/_mock/"):
            return self._control(req)
        self.total += 1
        route = _ROUTES.get(path)
        if route is None:
            return self.json_response(req, 404, _invalid_url(req))
        method, handler = route
        if req.method != method:
            body = _error_body(
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
            return self.json_response(req, 401, _REVOKED)
        if state == "quota" and path != b"/v1/models":
            return self.json_response(req, 429, _QUOTA)
        if state == "error":
            return self.json_response(req, 500, _error_body(_MSG_SERVER, "server_error"))
        try:
            return handler(self, req, label)
        except Exception:  # a mock must answer like OpenAI, never drop the connection
            return self.json_response(req, 500, _error_body(_MSG_SERVER, "server_error"))

    def _authenticate(self, req: _Request) -> str | tuple[int, bytes]:
        auth = req.auth
        if auth is None:
            return _NO_KEY
        label = self.auth.get(auth)
        if label is not None:
            return label
        # Slow path: scheme case, extra spaces, or open mode.
        scheme, _, token = auth.decode("latin-1").strip().partition(" ")
        key = token.strip()
        if scheme.lower() != "bearer" or not key:
            return _NO_KEY
        label = self.labels.get(key)
        if label is not None:
            return label
        if self.open_mode:
            return key[-4:]
        msg = (
            f"Incorrect API key provided: {_mask_key(key)}. "
            "You can find your API key at https://platform.openai.com/account/api-keys."
        )
        return 401, _error_body(msg, "invalid_request_error", None, "invalid_api_key")

    def _control(self, req: _Request) -> bytes:
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
                    "window_s": self.window_s,
                    # Per key, its recent windows on this host's CLOCK_MONOTONIC (time.monotonic):
                    # [start, requests admitted, when its RPM was used up or null].
                    "windows": {
                        label: [[w[0], int(w[1]), w[3] if w[3] >= 0 else None] for w in wins]
                        for label, wins in self.history.items()
                    },
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
        return self.json_response(req, status, _invalid_url(req))

    def reject(self, req: _Request, label: str, err: tuple[int, bytes, float]) -> bytes:
        status, body, wait = err
        extra = self.ratelimit_headers(label, time.monotonic())
        if wait > 0:
            extra += b"retry-after: %d\r\n" % max(1, math.ceil(wait))
        return self.json_response(req, status, body, extra)


# --------------------------------------------------------------------------- endpoint handlers


def _invalid_url(req: _Request) -> bytes:
    url = f"{req.method.decode()} {req.path.decode(errors='replace')}"
    return _error_body(f"Invalid URL ({url})", "invalid_request_error")


def _models(state: _State, req: _Request, label: str) -> bytes:
    extra = state.ratelimit_headers(label, time.monotonic())
    return state.json_response(req, 200, state.models_body, extra)


def _chat(state: _State, req: _Request, label: str) -> bytes | _Stream:
    try:
        body = _chat_decoder.decode(req.body)
    except msgspec.ValidationError as exc:
        return state.json_response(req, *_validation_error(exc))
    except msgspec.DecodeError:
        return state.json_response(req, *_BAD_JSON)
    if not body.messages:
        err = _invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            "messages",
            "empty_array",
        )
        return state.json_response(req, *err)
    stream = bool(body.stream)
    if body.stream_options is not None and not stream:
        err = _invalid(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options"
        )
        return state.json_response(req, *err)
    limit_param = "max_completion_tokens" if body.max_completion_tokens is not None else "max_tokens"
    limit = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
    bad = None if limit is None else _out_of_range(limit_param, limit, 1, 1 << 31)
    n = 1 if body.n is None else body.n
    bad = bad or _out_of_range("n", n, 1, 128)  # OpenAI's own bounds; also caps mock memory
    if bad is not None:
        return state.json_response(req, *bad)

    prompt_words = 0
    user_text = ""
    for m in body.messages:  # one plain pass: this is the benchmark hot path
        text = m.content if m.content.__class__ is str else _message_text(m)
        prompt_words += len(text.split())
        if m.role == "user":
            user_text = text
    prompt_tokens = max(1, prompt_words)
    # Whitespace is normalised so a streamed answer re-assembles to exactly the same text.
    words = ("Mock reply: " + user_text).split()
    if stream and state.cfg.stream_chunks is not None:
        count = max(0, state.cfg.stream_chunks)
        words = [words[i % len(words)] for i in range(count)]
    finish = "stop"
    if limit is not None and len(words) > limit:
        words, finish = words[:limit], "length"
    completion_tokens = len(words) * n

    now = time.monotonic()
    limited = state.admit(label, body.model, prompt_tokens + completion_tokens, now)
    if limited is not None:
        return state.reject(req, label, limited)
    cid = "chatcmpl-" + state.next_id()
    created = int(time.time())
    extra = state.ratelimit_headers(label, now)
    tool = _tool_to_call(body)
    if tool is not None:
        return _tool_call(state, req, body, tool, cid, created, prompt_tokens, stream, extra)
    if stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        usage = _usage(prompt_tokens, completion_tokens)
        return _stream_plan(
            state, req, body.model, cid, created, words, n, finish, usage, include_usage, extra
        )
    # Everything after "created" depends only on the answer, so it is encoded once and reused.
    content = " ".join(words)
    key = (body.model, content, finish, n, prompt_tokens)
    tail = state.chat_tails.get(key)
    if tail is None:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        message.update(refusal=None, annotations=[])
        choice = {"message": message, "logprobs": None, "finish_reason": finish}
        tail = _encode(
            {
                "model": body.model,
                "choices": [{"index": i, **choice} for i in range(n)],
                "usage": _usage(prompt_tokens, completion_tokens),
                "service_tier": "default",
                "system_fingerprint": _FINGERPRINT,
            }
        )[1:]
        if len(state.chat_tails) >= 4096:
            state.chat_tails.clear()
        state.chat_tails[key] = tail
    out = b'{"id":"%s","object":"chat.completion","created":%d,%s' % (cid.encode(), created, tail)
    return state.json_response(req, 200, out, extra)


def _tool_to_call(body: _ChatRequest) -> dict[str, Any] | None:
    """Offered tools and not told not to, and the last turn is not a tool result: call one (the
    named one, else the first) — deterministic, like the answer text."""
    if not body.tools or body.tool_choice == "none" or body.messages[-1].role == "tool":
        return None
    named = body.tool_choice.get("function", {}).get("name") if isinstance(body.tool_choice, dict) else None
    functions = [t.get("function") or {} for t in body.tools]
    return next((f for f in functions if f.get("name") == named), functions[0])


def _tool_call(
    state: _State,
    req: _Request,
    body: _ChatRequest,
    function: dict[str, Any],
    cid: str,
    created: int,
    prompt_tokens: int,
    stream: bool,
    extra: bytes,
) -> bytes | _Stream:
    # A placeholder value for each required property, so the arguments satisfy the schema's shape.
    required = (function.get("parameters") or {}).get("required") or []
    arguments = _encode({name: "mock" for name in required}).decode()
    call_id = "call_" + state.next_id()[:24]
    usage = _usage(prompt_tokens, max(1, len(required)))
    name = function.get("name", "")
    if not stream:
        call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [call],
            "refusal": None,
            "annotations": [],
        }
        answer = {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls"}],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": _FINGERPRINT,
        }
        return state.json_response(req, 200, _encode(answer), extra)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        event: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.model,
            "service_tier": "default",
            "system_fingerprint": _FINGERPRINT,
            "choices": [choice],
        }
        if include_usage:
            event["usage"] = None
        return _frame(b"data: " + _encode(event) + b"\n\n")

    opening = chunk({"role": "assistant", "content": None, "refusal": None})
    start = {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
    steps = [
        chunk({"tool_calls": [start]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}),
    ]
    tail = chunk({}, "tool_calls")
    if include_usage:
        final = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.model,
            "service_tier": "default",
            "system_fingerprint": _FINGERPRINT,
            "choices": [],
            "usage": usage,
        }
        tail += _frame(b"data: " + _encode(final) + b"\n\n")
    return _Stream(_stream_head(state, req, extra), opening, steps, tail + _DONE + _END)


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        **_USAGE_DETAILS,
    }


def _stream_plan(
    state: _State,
    req: _Request,
    model: str,
    cid: str,
    created: int,
    words: list[str],
    n: int,
    finish: str,
    usage: dict[str, Any],
    include_usage: bool,
    extra: bytes,
) -> _Stream:
    # Every chunk shares this envelope; only the choice differs, so it is built once per request.
    pre = b'data: {"id":"%s","object":"chat.completion.chunk","created":%d,"model":%s,' % (
        cid.encode(),
        created,
        _encode(model),
    )
    pre += b'"service_tier":"default","system_fingerprint":"%s","choices":[' % _FINGERPRINT.encode()
    post = b'],"usage":null}\n\n' if include_usage else b"]}\n\n"

    def events(choice: bytes) -> bytes:
        return b"".join(_frame(pre + choice % i + post) for i in range(n))

    opening = events(
        b'{"index":%d,"delta":{"role":"assistant","content":"","refusal":null},'
        b'"logprobs":null,"finish_reason":null}'
    )
    encoded: dict[str, bytes] = {}
    steps = []
    last = len(words) - 1
    for i, word in enumerate(words):
        piece = word if i == last else word + " "
        frag = encoded.get(piece)
        if frag is None:
            frag = encoded[piece] = events(
                b'{"index":%%d,"delta":{"content":%s},"logprobs":null,"finish_reason":null}'
                % _encode(piece).replace(b"%", b"%%")
            )
        steps.append(frag)
    tail = events(b'{"index":%%d,"delta":{},"logprobs":null,"finish_reason":"%s"}' % finish.encode())
    if include_usage:
        tail += _frame(pre + b'],"usage":' + _encode(usage) + b"}\n\n")
    return _Stream(_stream_head(state, req, extra), opening, steps, tail + _DONE + _END)


def _stream_head(state: _State, req: _Request, extra: bytes) -> bytes:
    return b"".join(
        (
            _SSE_HEAD,
            state.date(),
            b"x-request-id: req_%s\r\nopenai-processing-ms: %d\r\n"
            % (state.next_id().encode(), (time.monotonic() - req.t0) * 1000),
            extra,
            _KEEP if req.keep_alive else _CLOSE,
        )
    )


def _embeddings(state: _State, req: _Request, label: str) -> bytes:
    try:
        body = _embedding_decoder.decode(req.body)
    except msgspec.ValidationError as exc:
        return state.json_response(req, *_validation_error(exc))
    except msgspec.DecodeError:
        return state.json_response(req, *_BAD_JSON)
    fmt = body.encoding_format or "float"
    if fmt not in ("float", "base64"):
        err = _invalid(
            f"Invalid value for 'encoding_format': expected one of 'float' or 'base64', got '{fmt}'.",
            "encoding_format",
            "invalid_value",
        )
        return state.json_response(req, *err)
    dims = _DEFAULT_DIMENSIONS if body.dimensions is None else body.dimensions
    bad = _out_of_range("dimensions", dims, 1, 8192)
    if bad is not None:
        return state.json_response(req, *bad)
    inputs = _embedding_inputs(body.input)
    if inputs is None:
        msg = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."
        return state.json_response(req, *_invalid(msg, "input"))
    tokens = max(1, sum(t for _, t in inputs))
    now = time.monotonic()
    limited = state.admit(label, body.model, tokens, now)
    if limited is not None:
        return state.reject(req, label, limited)
    pick = 1 if fmt == "base64" else 0
    out = _encode(
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": _embedding(text, dims)[pick]}
                for i, (text, _) in enumerate(inputs)
            ],
            "model": body.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )
    return state.json_response(req, 200, out, state.ratelimit_headers(label, now))


def _embedding_inputs(value: str | list[str | int | list[int]]) -> list[tuple[str, int]] | None:
    """(hash text, token count) per input; accepts a string, strings, a token array or token arrays."""
    if isinstance(value, str):
        return [(value, _words(value))]
    if not value:
        return None
    if all(isinstance(v, int) for v in value):
        return [("tokens:" + ",".join(map(str, value)), len(value))]
    out: list[tuple[str, int]] = []
    for v in value:
        if isinstance(v, str):
            out.append((v, _words(v)))
        elif isinstance(v, list) and v:
            out.append(("tokens:" + ",".join(map(str, v)), len(v)))
        else:
            return None
    return out


_ROUTES = {
    b"/v1/chat/completions": (b"POST", _chat),
    b"/v1/embeddings": (b"POST", _embeddings),
    b"/v1/models": (b"GET", _models),
}


# --------------------------------------------------------------------------- HTTP/1.1 protocol


class _Request:
    __slots__ = ("auth", "body", "keep_alive", "method", "path", "t0")

    def __init__(
        self, method: bytes, path: bytes, auth: bytes | None, body: bytes, keep_alive: bool, t0: float
    ) -> None:
        self.method = method
        self.path = path
        self.auth = auth
        self.body = body
        self.keep_alive = keep_alive
        self.t0 = t0


class _Connection(asyncio.Protocol):
    """One keep-alive connection. Responses leave strictly in request order (pipelining-safe):
    while an async answer (latency, paced stream) is in flight, later requests wait in a queue."""

    def __init__(self, state: _State) -> None:
        self.state = state
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.auth: bytes | None = None
        self.body: list[bytes] = []
        self.body_size = 0
        self.t0 = 0.0
        self.expect_continue = False
        self.queue: deque[_Request | None] = deque()  # None = too-large body marker
        self.busy = False
        self.closed = False
        self.close_when_idle = False
        self.task: asyncio.Task[None] | None = None
        self.write_ready: asyncio.Future[None] | None = None

    # ---- asyncio.Protocol ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.state.conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.state.conns.discard(self)
        if self.task is not None:
            self.task.cancel()
        if self.write_ready is not None and not self.write_ready.done():
            self.write_ready.set_result(None)

    def pause_writing(self) -> None:
        if self.write_ready is None or self.write_ready.done():
            self.write_ready = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.write_ready is not None and not self.write_ready.done():
            self.write_ready.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # The request was answered as plain HTTP/1.1; an upgraded stream cannot continue.
            self.close_when_idle = True
            if not self.busy:
                self.close()
        except httptools.HttpParserError:
            if not self.busy and self.transport is not None:
                body = b"bad request"
                self.transport.write(
                    b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n"
                    b"connection: close\r\n\r\n%s" % (len(body), body)
                )
            self.close()

    # ---- httptools callbacks -------------------------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.auth = None
        self.body = []
        self.body_size = 0
        self.expect_continue = False
        self.t0 = time.monotonic()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        # Length checks first so most headers skip the lower() copy.
        if len(name) == 13 and name.lower() == b"authorization":
            self.auth = value
        elif len(name) == 6 and name.lower() == b"expect":
            self.expect_continue = value.lower() == b"100-continue"

    def on_headers_complete(self) -> None:
        # Interleaving "100 Continue" with a pipelined answer in flight would corrupt the stream.
        if self.expect_continue and not self.busy and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self.body_size += len(body)
        if self.body_size <= _MAX_BODY:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if self.body_size > _MAX_BODY:
            req = None
        else:
            path = self.url.split(b"?", 1)[0]
            body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
            req = _Request(
                self.parser.get_method(), path, self.auth, body, self.parser.should_keep_alive(), self.t0
            )
        if self.busy:
            self.queue.append(req)
        else:
            self.dispatch(req)

    # ---- dispatch ------------------------------------------------------------

    def dispatch(self, req: _Request | None) -> None:
        state = self.state
        if req is None:
            self.write(self._too_large(), keep_alive=False)
            return
        pending: _Stream | None = None
        if state.latency <= 0:
            out = state.handle(req)
            if isinstance(out, bytes):
                self.write(out, req.keep_alive)
                return
            if state.interval <= 0:
                self.write(out.joined(), req.keep_alive)
                return
            pending = out  # a paced stream needs the event loop
        self.busy = True
        if self.transport is not None:
            self.transport.pause_reading()
        self.task = asyncio.get_running_loop().create_task(self._answer_later(req, pending))

    async def _answer_later(self, req: _Request, out: bytes | _Stream | None) -> None:
        state = self.state
        try:
            if out is None:
                await asyncio.sleep(state.latency)
                out = state.handle(req)
            if isinstance(out, bytes):
                self.write(out, req.keep_alive)
            elif state.interval <= 0:
                self.write(out.joined(), req.keep_alive)
            else:
                await self._paced(out, req.keep_alive)
        except (asyncio.CancelledError, ConnectionError):
            self.close()
            return
        finally:
            self.task = None
        self.busy = False
        # Drain requests that arrived pipelined behind this one, in order.
        while self.queue and not self.busy and not self.closed:
            self.dispatch(self.queue.popleft())
        if not self.busy and not self.closed:
            if self.close_when_idle:
                self.close()
            elif self.transport is not None:
                self.transport.resume_reading()

    async def _paced(self, out: _Stream, keep_alive: bool) -> None:
        transport = self.transport
        if transport is None:
            return
        transport.write(out.head + out.opening)
        for i, step in enumerate(out.steps):
            if i:
                await asyncio.sleep(self.state.interval)
            if self.closed:
                return
            transport.write(step)
            if self.write_ready is not None and not self.write_ready.done():
                await self.write_ready  # honour TCP back-pressure on slow readers
        if not self.closed:
            self.write(out.tail, keep_alive)

    def write(self, data: bytes, keep_alive: bool) -> None:
        if self.closed or self.transport is None:
            return
        self.transport.write(data)
        if not keep_alive:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()  # flushes buffered responses first

    def _too_large(self) -> bytes:
        body = _error_body("Request body too large.", "invalid_request_error")
        return b"".join(
            (
                _JSON_HEAD[413],
                self.state.date(),
                b"content-length: %d\r\n" % len(body),
                _CLOSE,
                body,
            )
        )


# --------------------------------------------------------------------------- public API

_STATES: dict[int, _State] = {}  # id(server) -> state, for stop_mock_server()


async def start_mock_server(cfg: MockConfig) -> tuple[asyncio.Server, int]:
    """Bind and start serving on the running loop; returns the server and the bound port."""
    state = _State(cfg)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(state), cfg.host, cfg.port, backlog=2048)
    _STATES[id(server)] = state
    port = server.sockets[0].getsockname()[1]
    return server, port


async def stop_mock_server(server: asyncio.Server) -> None:
    """Stop listening and close open keep-alive connections (wait_closed may wait on them)."""
    server.close()
    state = _STATES.pop(id(server), None)
    if state is not None:
        for conn in list(state.conns):
            conn.close()
    await server.wait_closed()
