"""Prompt APIs: `POST /apis/<service>/v<n>` with a JSON object of variables, answered with JSON.

The variables are checked against the version's declared types, put into its template, and the
result goes out as an ordinary chat completion on the service's group (limits, key pools,
retries and call logging all apply). The answer is the model's text, not a ChatCompletion:

    {"service": "summarize", "version": 1, "output": "...", "finish_reason": "stop",
     "model": "gpt-4o-mini", "usage": {...}}

With `"stream": true` (where the version allows it) the answer is server-sent events:
`data: {"delta": "..."}` per piece of text, then `data: {"done": true, "finish_reason": ..., "usage": ...}`.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ..errors import bad_request
from ..providers.canonical import Usage
from ..providers.sse import SSEDecoder
from ..store.tenancy_records import PromptSpec
from .caller import OpenAICaller
from .services import ServiceRoute, ServiceTables, group_name

PREFIX = "/apis/"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}
_encoder = msgspec.json.Encoder()


def lookup(services: ServiceTables, path: str) -> tuple[ServiceRoute | None, str | None]:
    """The prompt API at `path`, or None and (if it was retired) the message for a 410."""
    service, _, version = path[len(PREFIX) :].partition("/")
    if not version.startswith("v") or not version[1:].isdigit():
        return None, None
    name = group_name(service, int(version[1:]))
    route = services.routes.get(name)
    if route is None or route.kind != "prompt":
        return None, services.retired.get(name)
    return route, None


class _Message(msgspec.Struct):
    role: str
    content: str


class _Call(msgspec.Struct, omit_defaults=True):
    model: str
    messages: list[_Message]
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = False
    stream_options: dict[str, bool] | None = None


def render(route: ServiceRoute, body: bytes) -> bytes:
    """The chat completion request (OpenAI JSON) for these variables; a 400 GatewayError if they
    do not fit the declaration."""
    spec = route.prompt
    assert spec is not None
    try:
        given = msgspec.json.decode(body) if body.strip() else {}
    except msgspec.DecodeError:
        raise bad_request("The request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(given, dict):
        raise bad_request("The request body must be a JSON object of the prompt's variables.")
    stream = given.pop("stream", False)
    if not isinstance(stream, bool):
        raise bad_request("'stream' must be a boolean.", "stream")
    if stream and not spec.streaming:
        raise bad_request("This prompt API does not stream.", "stream")
    values = _check(spec, given)
    messages = [_Message("system", _fill(spec.system, values))] if spec.system else []
    messages.append(_Message("user", _fill(spec.template, values)))
    call = _Call(
        model=group_name(route.service, route.version),
        messages=messages,
        temperature=spec.temperature,
        max_tokens=spec.max_tokens,
        stream=stream,
        stream_options={"include_usage": True} if stream else None,
    )
    return _encoder.encode(call)


def _check(spec: PromptSpec, given: dict[str, Any]) -> dict[str, str]:
    declared = {v.name: v for v in spec.variables}
    for name in given:
        if name not in declared:
            takes = ", ".join(declared) or "none"
            raise bad_request(f"Unknown variable '{name}'; this prompt takes: {takes}.", name)
    values = {}
    for v in spec.variables:
        if v.name not in given:
            if v.required:
                raise bad_request(f"Missing required variable '{v.name}' ({v.type}).", v.name)
            values[v.name] = ""
            continue
        value = given[v.name]
        # bool is an int in Python; JSON's true is not an integer.
        if not isinstance(value, _TYPES[v.type]) or (isinstance(value, bool) and v.type != "boolean"):
            raise bad_request(f"Variable '{v.name}' must be a {v.type}.", v.name)
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if v.max_length is not None and len(text) > v.max_length:
            raise bad_request(f"Variable '{v.name}' is longer than {v.max_length} characters.", v.name)
        values[v.name] = text
    return values


def _fill(template: str, values: dict[str, str]) -> str:
    # One pass: a value containing "{{x}}" is text, never expanded again.
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


# ------------------------------------------------------------------------------ the answer


class _Choice(msgspec.Struct):
    message: _Message | None = None
    finish_reason: str | None = None


class _Completion(msgspec.Struct):
    model: str = ""
    choices: list[_Choice] = []
    usage: Usage | None = None


class _Answer(msgspec.Struct):
    service: str
    version: int
    output: str
    finish_reason: str | None
    model: str
    usage: Usage | None


class _Delta(msgspec.Struct):
    content: str | None = None


class _ChunkChoice(msgspec.Struct):
    delta: _Delta | None = None
    finish_reason: str | None = None


class _Chunk(msgspec.Struct):
    choices: list[_ChunkChoice] = []
    usage: Usage | None = None
    error: dict[str, Any] | None = None


class _Piece(msgspec.Struct):
    delta: str


class _Done(msgspec.Struct):
    done: bool
    finish_reason: str | None
    usage: Usage | None


_COMPLETION = msgspec.json.Decoder(_Completion)
_CHUNK = msgspec.json.Decoder(_Chunk)


class PromptCaller(OpenAICaller):
    """Answers of a prompt API: errors in OpenAI's shape (inherited), completions as
    {output, usage}."""

    name = "prompt"

    def __init__(self, route: ServiceRoute):
        self.route = route

    def answer(self, status: int, openai_body: bytes) -> tuple[int, bytes]:
        if status != 200:
            return status, openai_body
        completion = _COMPLETION.decode(openai_body)
        choice = completion.choices[0] if completion.choices else _Choice()
        text = choice.message.content if choice.message is not None else ""
        answer = _Answer(
            self.route.service,
            self.route.version,
            text,
            choice.finish_reason,
            completion.model,
            completion.usage,
        )
        return 200, _encoder.encode(answer)

    def stream(self) -> PromptStream:
        return PromptStream()


class PromptStream:
    """OpenAI chunks in, `{"delta"}` events out, one `{"done"}` event at the end."""

    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self._finish: str | None = None
        self._usage: Usage | None = None

    def feed(self, chunk: bytes) -> bytes:
        out = []
        for data in self._sse.feed(chunk):
            if data == b"[DONE]":
                continue
            event = _CHUNK.decode(data)
            if event.error is not None:
                out.append(b"event: error\ndata: " + data + b"\n\n")
                continue
            if event.usage is not None:
                self._usage = event.usage
            for choice in event.choices:
                if choice.finish_reason:
                    self._finish = choice.finish_reason
                if choice.delta is not None and choice.delta.content:
                    out.append(b"data: " + _encoder.encode(_Piece(choice.delta.content)) + b"\n\n")
        return b"".join(out)

    def close(self) -> bytes:
        return b"data: " + _encoder.encode(_Done(True, self._finish, self._usage)) + b"\n\n"
