"""`POST /v1/chat/completions`: deterministic answers in OpenAI's format, plain and streamed.

The answer echoes the last user text ("Mock reply: ..."), cut at max_tokens words; offered tools
(unless told not to) are called with a placeholder for each required argument. Everything after
`created` depends only on the answer, so plain answers are encoded once and reused.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import msgspec

from . import schemas
from .errors import invalid, out_of_range
from .framing import CLOSE, DONE, END, KEEP, SSE_HEAD, Stream, frame
from .schemas import ChatRequest, message_text

if TYPE_CHECKING:
    from .http import Request
    from .server import MockServer

FINGERPRINT = "fp_mock"
_encode = msgspec.json.Encoder().encode

_USAGE_DETAILS: dict[str, Any] = {
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


def chat(state: MockServer, req: Request, label: str) -> bytes | Stream:
    body = schemas.read(schemas.CHAT, req.body)
    if isinstance(body, tuple):
        return state.json_response(req, *body)
    if not body.messages:
        err = invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            "messages",
            "empty_array",
        )
        return state.json_response(req, *err)
    stream = bool(body.stream)
    if body.stream_options is not None and not stream:
        err = invalid(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options"
        )
        return state.json_response(req, *err)
    limit_param = "max_completion_tokens" if body.max_completion_tokens is not None else "max_tokens"
    limit = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
    bad = None if limit is None else out_of_range(limit_param, limit, 1, 1 << 31)
    n = 1 if body.n is None else body.n
    bad = bad or out_of_range("n", n, 1, 128)  # OpenAI's own bounds; also caps mock memory
    if bad is not None:
        return state.json_response(req, *bad)

    prompt_words = 0
    user_text = ""
    for m in body.messages:  # one plain pass: this is the benchmark hot path
        text = m.content if m.content.__class__ is str else message_text(m)
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
    refused = state.admit(req, label, body.model, prompt_tokens + completion_tokens, now)
    if refused is not None:
        return refused
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
                "system_fingerprint": FINGERPRINT,
            }
        )[1:]
        if len(state.chat_tails) >= 4096:
            state.chat_tails.clear()
        state.chat_tails[key] = tail
    out = b'{"id":"%s","object":"chat.completion","created":%d,%s' % (cid.encode(), created, tail)
    return state.json_response(req, 200, out, extra)


def _tool_to_call(body: ChatRequest) -> dict[str, Any] | None:
    """Offered tools and not told not to, and the last turn is not a tool result: call one (the
    named one, else the first) — deterministic, like the answer text."""
    if not body.tools or body.tool_choice == "none" or body.messages[-1].role == "tool":
        return None
    named = body.tool_choice.get("function", {}).get("name") if isinstance(body.tool_choice, dict) else None
    functions = [t.get("function") or {} for t in body.tools]
    return next((f for f in functions if f.get("name") == named), functions[0])


def _tool_call(
    state: MockServer,
    req: Request,
    body: ChatRequest,
    function: dict[str, Any],
    cid: str,
    created: int,
    prompt_tokens: int,
    stream: bool,
    extra: bytes,
) -> bytes | Stream:
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
            "system_fingerprint": FINGERPRINT,
        }
        return state.json_response(req, 200, _encode(answer), extra)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    envelope = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": body.model,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        event: dict[str, Any] = {**envelope, "choices": [choice]}
        if include_usage:
            event["usage"] = None
        return frame(b"data: " + _encode(event) + b"\n\n")

    opening = chunk({"role": "assistant", "content": None, "refusal": None})
    start = {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
    steps = [
        chunk({"tool_calls": [start]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}),
    ]
    tail = chunk({}, "tool_calls")
    if include_usage:
        final = {**envelope, "choices": [], "usage": usage}
        tail += frame(b"data: " + _encode(final) + b"\n\n")
    return Stream(_stream_head(state, req, extra), opening, steps, tail + DONE + END)


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        **_USAGE_DETAILS,
    }


def _stream_plan(
    state: MockServer,
    req: Request,
    model: str,
    cid: str,
    created: int,
    words: list[str],
    n: int,
    finish: str,
    usage: dict[str, Any],
    include_usage: bool,
    extra: bytes,
) -> Stream:
    # Every chunk shares this envelope; only the choice differs, so it is built once per request.
    pre = b'data: {"id":"%s","object":"chat.completion.chunk","created":%d,"model":%s,' % (
        cid.encode(),
        created,
        _encode(model),
    )
    pre += b'"service_tier":"default","system_fingerprint":"%s","choices":[' % FINGERPRINT.encode()
    post = b'],"usage":null}\n\n' if include_usage else b"]}\n\n"

    def events(choice: bytes) -> bytes:
        return b"".join(frame(pre + choice % i + post) for i in range(n))

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
        tail += frame(pre + b'],"usage":' + _encode(usage) + b"}\n\n")
    return Stream(_stream_head(state, req, extra), opening, steps, tail + DONE + END)


def _stream_head(state: MockServer, req: Request, extra: bytes) -> bytes:
    return b"".join(
        (
            SSE_HEAD,
            state.date(),
            b"x-request-id: req_%s\r\nopenai-processing-ms: %d\r\n"
            % (state.next_id().encode(), (time.monotonic() - req.t0) * 1000),
            extra,
            KEEP if req.keep_alive else CLOSE,
        )
    )
