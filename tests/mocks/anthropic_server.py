"""Mock Anthropic Messages API (`POST /v1/messages`), speaking Anthropic's documented wire format.

Deterministic answers: when the request offers tools (and tool_choice is not `none`) the mock
calls the chosen tool (the named one, else the first) with a placeholder for each required
property; otherwise it echoes the last user text, cut at a stop sequence or at max_tokens
words. `mock:error=<status>` as the last user text answers that status in Anthropic's error
format; `mock:truncate` cuts the stream before `message_stop`.

Shapes follow https://docs.anthropic.com/en/api/messages,
https://docs.anthropic.com/en/docs/build-with-claude/streaming, /en/api/errors and
/en/api/rate-limits (the `anthropic-ratelimit-*` and `request-id` headers).

With `--rpm` / `--tpm` (input tokens) each key is rate limited as Anthropic documents it: a
token bucket (`--limiter continuous`, the default) whose `anthropic-ratelimit-*-reset` is the
moment it is fully replenished (RFC 3339, whole seconds, rounded up), and whose 429
`rate_limit_error` carries `retry-after`: the whole seconds until a retry can succeed.

    python -m tests.mocks.anthropic_server --port 0   # prints: mock listening on http://HOST:PORT
"""

from __future__ import annotations

import argparse
import json
import math
import secrets
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway.mock.limits import RateLimits, Refusal

from .common import (
    STATE,
    TRUNCATE_DIRECTIVE,
    MockState,
    args_for,
    directive_status,
    limits_of,
    serve_main,
    stats,
    tokens,
    words,
)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
RESET = "2030-01-01T00:00:00Z"


def create_app(
    keys: Iterable[str] = (), rate_limited_keys: Iterable[str] = (), limits: RateLimits | None = None
) -> web.Application:
    """`keys` empty = any non-empty x-api-key is accepted."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE] = MockState.of(keys, rate_limited_keys, limits)
    app.router.add_post("/v1/messages", messages)
    app.router.add_get("/_mock/stats", stats)
    return app


def _instant(seconds_from_now: float) -> str:
    """An RFC 3339 instant in whole seconds, rounded up: never before the moment it names."""
    at = math.ceil(time.time() + seconds_from_now)
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _limit_headers(limits: RateLimits, key: str) -> dict[str, str]:
    """The key's limits as they stand: limit, remaining, and when it is fully replenished."""
    state = limits.state(key, time.monotonic())
    out: dict[str, str] = {}
    families = [("requests", state.requests), ("input-tokens", state.tokens), ("tokens", state.tokens)]
    for family, kind in families:
        if kind is not None:
            limit, remaining, until_full = kind
            out[f"anthropic-ratelimit-{family}-limit"] = str(limit)
            out[f"anthropic-ratelimit-{family}-remaining"] = str(remaining)
            out[f"anthropic-ratelimit-{family}-reset"] = _instant(until_full)
    return out


def _refusal(limits: RateLimits, key: str, refused: Refusal, rid: str) -> web.Response:
    unit = "input tokens" if refused.tokens else "requests"
    message = (
        f"This request would exceed the rate limit for your organization of {refused.limit} {unit} "
        "per minute. For details, refer to: https://docs.anthropic.com/en/api/rate-limits. You can "
        "see the response headers for current usage. Please try again later."
    )
    # "The number of seconds to wait until you can retry the request. Earlier retries will fail."
    retry = {"retry-after": str(max(1, math.ceil(refused.wait_s)))} if refused.wait_s > 0 else {}
    return error(429, message, rid, retry, _limit_headers(limits, key))


def _headers(request_id: str, limited: dict[str, str] | None = None) -> dict[str, str]:
    if limited:
        return {"request-id": request_id, **limited}
    return {
        "request-id": request_id,
        "anthropic-organization-id": "00000000-0000-4000-8000-000000000000",
        "anthropic-ratelimit-requests-limit": "4000",
        "anthropic-ratelimit-requests-remaining": "3999",
        "anthropic-ratelimit-requests-reset": RESET,
        "anthropic-ratelimit-tokens-limit": "480000",
        "anthropic-ratelimit-tokens-remaining": "479000",
        "anthropic-ratelimit-tokens-reset": RESET,
        "anthropic-ratelimit-input-tokens-limit": "400000",
        "anthropic-ratelimit-input-tokens-remaining": "399000",
        "anthropic-ratelimit-input-tokens-reset": RESET,
        "anthropic-ratelimit-output-tokens-limit": "80000",
        "anthropic-ratelimit-output-tokens-remaining": "79000",
        "anthropic-ratelimit-output-tokens-reset": RESET,
    }


def error(
    status: int,
    message: str,
    request_id: str,
    extra: dict[str, str] | None = None,
    limited: dict[str, str] | None = None,
) -> web.Response:
    body = {
        "type": "error",
        "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message},
        "request_id": request_id,
    }
    headers = {**_headers(request_id, limited), **(extra or {})}
    return web.json_response(body, status=status, headers=headers)


async def messages(request: web.Request) -> web.StreamResponse:
    rid = "req_" + secrets.token_hex(12)
    state = request.app[STATE]
    # The API takes `x-api-key`; anthropic SDK 2.x sends `Authorization: Bearer` instead.
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    key = request.headers.get("x-api-key") or (token if scheme.lower() == "bearer" else "")
    if not key:
        return error(401, "x-api-key header is required", rid)
    if state.keys and key not in state.keys:
        return error(401, "invalid x-api-key", rid)
    if key in state.rate_limited:
        message = "This request would exceed your organization's rate limit of 50 requests per minute."
        return error(429, message, rid, {"retry-after": "7", "anthropic-ratelimit-requests-remaining": "0"})
    if not request.headers.get("anthropic-version"):
        return error(400, "anthropic-version: header is required", rid)
    try:
        body = json.loads(await request.read())
    except ValueError:
        return error(400, "There was an issue with the format of your request: invalid JSON", rid)
    state.requests.append(body)
    problem = _invalid(body) or _refused_by_version(body, request.headers["anthropic-version"])
    if problem:
        return error(400, problem, rid)
    limited: dict[str, str] = {}
    if state.limits.on:
        refused = state.limits.admit(key, tokens(json.dumps(body["messages"])), time.monotonic())
        if refused is not None:
            return _refusal(state.limits, key, refused, rid)
        limited = _limit_headers(state.limits, key)
    last = _last_user_text(body["messages"])
    status = directive_status(last)
    if status is not None:
        return error(status, f"mock error {status} as requested", rid)
    message = _answer(body, last)
    if not body.get("stream"):
        return web.json_response(message, headers=_headers(rid, limited))
    return await _stream(request, message, rid, limited, truncate=last.startswith(TRUNCATE_DIRECTIVE))


def _invalid(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body: Input should be an object"
    for field in ("model", "max_tokens", "messages"):
        if field not in body:
            return f"{field}: Field required"
    if not isinstance(body["messages"], list) or not body["messages"]:
        return "messages: at least one message is required"
    for i, msg in enumerate(body["messages"]):
        if msg.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
    return None


# API version 2026-10-21 has no sampling parameters: it refuses them even at their defaults.
SAMPLING = ("temperature", "top_p", "top_k")
CURRENT_VERSION = "2026-10-21"


def _refused_by_version(body: dict[str, Any], version: str) -> str | None:
    """What the API version refuses: sampling parameters (2026-10-21), stop sequences of
    whitespace only (every version)."""
    if version >= CURRENT_VERSION:
        for name in SAMPLING:
            if name in body:
                return f"{name}: Extra inputs are not permitted"
    for i, sequence in enumerate(body.get("stop_sequences") or ()):
        if not str(sequence).strip():
            return f"stop_sequences.{i}: each stop sequence must contain non-whitespace"
    return None


def _last_user_text(msgs: list[dict[str, Any]]) -> str:
    for msg in reversed(msgs):
        if msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, str):
            return content
        texts = [b.get("text", "") for b in content or () if b.get("type") == "text"]
        if texts:
            return "\n".join(texts)
    return ""


def _answer(body: dict[str, Any], last: str) -> dict[str, Any]:
    tools = body.get("tools") or []
    choice = body.get("tool_choice") or {"type": "auto"}
    content: list[dict[str, Any]]
    stop_sequence = None
    if tools and choice.get("type") != "none":
        tool = next((t for t in tools if t["name"] == choice.get("name")), tools[0])
        content = []
        if choice.get("type") == "auto":
            content.append({"type": "text", "text": f"I'll call {tool['name']}."})
        call_id = "toolu_" + secrets.token_hex(12)
        content.append(
            {
                "type": "tool_use",
                "id": call_id,
                "name": tool["name"],
                "input": args_for(tool.get("input_schema")),
            }
        )
        stop_reason = "tool_use"
    else:
        text, stop_reason = last or "Hello from the mock.", "end_turn"
        for seq in body.get("stop_sequences") or ():
            if seq and seq in text:
                text, stop_reason, stop_sequence = text[: text.index(seq)], "stop_sequence", seq
                break
        pieces = words(text)
        if len(pieces) > body["max_tokens"]:
            text, stop_reason = "".join(pieces[: body["max_tokens"]]), "max_tokens"
        content = [{"type": "text", "text": text}]
    return {
        "id": "msg_" + secrets.token_hex(12),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {
            "input_tokens": tokens(json.dumps(body["messages"])),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": sum(tokens(json.dumps(b)) for b in content),
            "service_tier": "standard",
        },
    }


def stream_events(message: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The documented event sequence for a finished message."""
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {**message["usage"], "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            first = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": piece} for piece in words(block["text"])]
        else:
            first = {**block, "input": {}}
            arguments = json.dumps(block["input"])
            pieces = [""] + [arguments[i : i + 8] for i in range(0, len(arguments), 8)]
            deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
        events.append(
            ("content_block_start", {"type": "content_block_start", "index": index, "content_block": first})
        )
        if index == 0:
            events.append(("ping", {"type": "ping"}))
        for delta in deltas:
            events.append(
                ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]}
    usage = {"output_tokens": message["usage"]["output_tokens"]}
    events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


async def _stream(
    request: web.Request, message: dict[str, Any], rid: str, limited: dict[str, str], truncate: bool
) -> web.StreamResponse:
    resp = web.StreamResponse(
        headers={
            **_headers(rid, limited),
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache",
        }
    )
    await resp.prepare(request)
    events = stream_events(message)
    if truncate:
        events = events[: len(events) // 2]
    for name, data in events:
        await resp.write(f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode())
    if not truncate:
        await resp.write_eof()
    return resp


def main(argv: list[str] | None = None) -> int:
    def make(args: argparse.Namespace) -> web.Application:
        return create_app(args.key, args.rate_limited_key, limits_of(args))

    return serve_main("python -m tests.mocks.anthropic_server", make, argv)


if __name__ == "__main__":
    sys.exit(main())
