"""Mock Gemini API (`/v1beta/models/{model}:generateContent`, `:streamGenerateContent`,
`:batchEmbedContents`, `:embedContent`) speaking Google's documented REST wire format.

Deterministic answers: when the request declares functions (and the function calling mode is
not NONE) the mock calls the allowed one (else the first) with a placeholder for each required
parameter, on a part that carries a `thoughtSignature` as Gemini 3 models do; a JSON response
schema is answered with placeholder JSON; otherwise the last user text is echoed, cut at a stop
sequence or at maxOutputTokens words. `candidateCount` candidates are returned.
`mock:error=<status>` answers that status in Google's error format; `mock:truncate` cuts the
stream before its last event. Keys come as `x-goog-api-key` or `?key=`.

Shapes follow https://ai.google.dev/api/generate-content, https://ai.google.dev/api/embeddings
and https://ai.google.dev/gemini-api/docs/troubleshooting (errors).

With `--rpm` / `--tpm` (input tokens) each key is rate limited per minute (`--limiter
fixed_window` or `continuous`). Gemini sends no rate-limit headers: a request over a limit gets
429 `RESOURCE_EXHAUSTED` with a `google.rpc.QuotaFailure` naming the quota and a
`google.rpc.RetryInfo` whose `retryDelay` is the whole seconds, rounded up, until it would fit
(https://ai.google.dev/gemini-api/docs/rate-limits).

    python -m tests.mocks.gemini_server --port 0   # prints: mock listening on http://HOST:PORT
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import secrets
import sys
import time
from collections.abc import Iterable
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

STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
SIGNATURE = base64.b64encode(b"mock thought signature").decode()


def create_app(
    keys: Iterable[str] = (), rate_limited_keys: Iterable[str] = (), limits: RateLimits | None = None
) -> web.Application:
    """`keys` empty = any non-empty key is accepted."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE] = MockState.of(keys, rate_limited_keys, limits)
    app.router.add_post("/{version}/models/{target}", dispatch)
    app.router.add_get("/_mock/stats", stats)
    return app


def _exhausted(refused: Refusal, model: str) -> web.Response:
    metric = "input_token_count" if refused.tokens else "requests"
    quota = "GenerateContentInputTokensPerModelPerMinute" if refused.tokens else "GenerateRequestsPerMinute"
    violation = {
        "quotaMetric": f"generativelanguage.googleapis.com/generate_content_{metric}",
        "quotaId": f"{quota}PerProjectPerModel",
        "quotaDimensions": {"location": "global", "model": model},
        "quotaValue": str(refused.limit),
    }
    details: list[dict[str, Any]] = [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]},
        {
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [{"description": "Learn more about Gemini API quotas", "url": _QUOTA_DOCS}],
        },
    ]
    message = (
        "You exceeded your current quota, please check your plan and billing details. For more "
        f"information on this error, head to: {_QUOTA_DOCS}.\n* Quota exceeded for metric: "
        f"{violation['quotaMetric']}, limit: {refused.limit}, model: {model}"
    )
    if refused.wait_s > 0:
        message += f"\nPlease retry in {refused.wait_s:.6f}s."
        delay = f"{max(1, math.ceil(refused.wait_s))}s"
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay})
    return error(429, message, details)


_QUOTA_DOCS = "https://ai.google.dev/gemini-api/docs/rate-limits"


def error(status: int, message: str, details: list[dict[str, Any]] | None = None) -> web.Response:
    body: dict[str, Any] = {"code": status, "message": message, "status": STATUSES.get(status, "UNKNOWN")}
    if details:
        body["details"] = details
    return web.json_response({"error": body}, status=status)


def field(doc: dict[str, Any], camel: str) -> Any:
    """REST accepts camelCase and snake_case field names alike."""
    if camel in doc:
        return doc[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return doc.get(snake)


async def dispatch(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    key = request.headers.get("x-goog-api-key") or request.query.get("key", "")
    if not key:
        return error(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.",
        )
    if state.keys and key not in state.keys:
        info = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
        }
        return error(400, "API key not valid. Please pass a valid API key.", [info])
    if key in state.rate_limited:
        quota = {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}],
        }
        retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}
        return error(429, "Resource has been exhausted (e.g. check quota).", [quota, retry])
    model, _, method = request.match_info["target"].rpartition(":")
    try:
        body = json.loads(await request.read())
    except ValueError:
        return error(400, "Invalid JSON payload received.")
    state.requests.append(body)
    if method in ("batchEmbedContents", "embedContent"):
        return _embed(body, method)
    if method not in ("generateContent", "streamGenerateContent"):
        return error(404, f"Method {method} is not found.")
    if not isinstance(body, dict) or not body.get("contents"):
        return error(400, "* GenerateContentRequest.contents: contents is not specified")
    if state.limits.on:
        refused = state.limits.admit(key, tokens(json.dumps(body["contents"])), time.monotonic())
        if refused is not None:
            return _exhausted(refused, model.removeprefix("models/"))
    last = _last_user_text(body["contents"])
    status = directive_status(last)
    if status is not None:
        return error(status, f"mock error {status} as requested")
    answer = _answer(body, model, last)
    if method == "generateContent":
        return web.json_response(answer)
    return await _stream(request, answer, truncate=last.startswith(TRUNCATE_DIRECTIVE))


def _last_user_text(contents: list[dict[str, Any]]) -> str:
    for content in reversed(contents):
        if content.get("role", "user") != "user":
            continue
        texts = [p["text"] for p in content.get("parts") or () if isinstance(p.get("text"), str)]
        if texts:
            return "\n".join(texts)
    return ""


def _answer(body: dict[str, Any], model: str, last: str) -> dict[str, Any]:
    config = field(body, "generationConfig") or {}
    parts, finish = _parts(body, config, last)
    count = field(config, "candidateCount") or 1
    prompt = tokens(json.dumps(body["contents"]))
    output = sum(tokens(json.dumps(p)) for p in parts) * count
    return {
        "candidates": [
            {"content": {"parts": parts, "role": "model"}, "finishReason": finish, "index": i}
            for i in range(count)
        ],
        "usageMetadata": {
            "promptTokenCount": prompt,
            "candidatesTokenCount": output,
            "totalTokenCount": prompt + output,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
        },
        "modelVersion": model,
        "responseId": secrets.token_urlsafe(16),
    }


def _parts(body: dict[str, Any], config: dict[str, Any], last: str) -> tuple[list[dict[str, Any]], str]:
    declarations = [d for tool in body.get("tools") or () for d in field(tool, "functionDeclarations") or ()]
    calling = field(field(body, "toolConfig") or {}, "functionCallingConfig") or {}
    if declarations and calling.get("mode") != "NONE":
        allowed = field(calling, "allowedFunctionNames") or []
        chosen = next((d for d in declarations if d["name"] in allowed), declarations[0])
        call = {"name": chosen["name"], "args": args_for(chosen.get("parameters"))}
        return [{"functionCall": call, "thoughtSignature": SIGNATURE}], "STOP"
    schema = field(config, "responseSchema")
    if schema:
        return [{"text": json.dumps(args_for(schema))}], "STOP"
    text, finish = last or "Hello from the mock.", "STOP"
    for seq in field(config, "stopSequences") or ():
        if seq and seq in text:
            text = text[: text.index(seq)]
    pieces = words(text)
    limit = field(config, "maxOutputTokens")
    if limit and len(pieces) > limit:
        text, finish = "".join(pieces[:limit]), "MAX_TOKENS"
    return [{"text": text}], finish


def stream_events(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer as Gemini streams it: text a word per event, calls whole, the finish and full
    usage on the last event."""
    head = {"modelVersion": answer["modelVersion"], "responseId": answer["responseId"]}
    usage = answer["usageMetadata"]
    partial_usage = {
        "promptTokenCount": usage["promptTokenCount"],
        "totalTokenCount": usage["promptTokenCount"],
    }
    steps: list[list[tuple[int, dict[str, Any]]]] = []
    for candidate in answer["candidates"]:
        pieces: list[dict[str, Any]] = []
        for part in candidate["content"]["parts"]:
            if "text" in part:
                pieces.extend({"text": w} for w in words(part["text"]))
            else:
                pieces.append(part)
        for n, piece in enumerate(pieces or [{"text": ""}]):
            while len(steps) <= n:
                steps.append([])
            steps[n].append((candidate["index"], piece))
    events = []
    for n, step in enumerate(steps):
        final = n == len(steps) - 1
        candidates = []
        for index, piece in step:
            candidate: dict[str, Any] = {"content": {"parts": [piece], "role": "model"}, "index": index}
            if final:
                candidate["finishReason"] = answer["candidates"][index]["finishReason"]
            candidates.append(candidate)
        events.append({"candidates": candidates, "usageMetadata": usage if final else partial_usage, **head})
    return events


async def _stream(request: web.Request, answer: dict[str, Any], truncate: bool) -> web.StreamResponse:
    events = stream_events(answer)
    if truncate:
        events = events[:-1]
    if request.query.get("alt") != "sse":  # without alt=sse Google streams one JSON array
        return web.json_response(events)
    resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await resp.prepare(request)
    for event in events:
        await resp.write(b"data: " + json.dumps(event).encode() + b"\r\n\r\n")
    return resp


def _embed(body: dict[str, Any], method: str) -> web.Response:
    items = body.get("requests", []) if method == "batchEmbedContents" else [body]
    vectors = []
    for item in items:
        text = " ".join(p.get("text", "") for p in (item.get("content") or {}).get("parts", ()))
        size = field(item, "outputDimensionality") or 8
        digest = hashlib.sha256(text.encode()).digest() * (size // 32 + 1)
        vectors.append({"values": [round(b / 255 - 0.5, 4) for b in digest[:size]]})
    if method == "embedContent":
        return web.json_response({"embedding": vectors[0]})
    return web.json_response({"embeddings": vectors})


def main(argv: list[str] | None = None) -> int:
    def make(args: argparse.Namespace) -> web.Application:
        return create_app(args.key, args.rate_limited_key, limits_of(args))

    return serve_main("python -m tests.mocks.gemini_server", make, argv)


if __name__ == "__main__":
    sys.exit(main())
