"""OpenAI and every OpenAI-compatible server (vLLM, Ollama, llama.cpp, Groq, Mistral, …): the fast path.

The request is the caller's own JSON with `model` replaced, so vendor extensions pass through.
Answers are relayed as they are; streams are re-framed event by event only to read the usage,
notice the end, and turn a cut-off stream into an error event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
import orjson
from msgspec import Meta

from ..models.params import OPENAI_API, ApiParams
from . import errors
from .base import UpstreamCall, decode_options
from .canonical import (
    ENCODER,
    SSE_DONE,
    ChatRequest,
    EmbeddingsRequest,
    StreamOptions,
    Usage,
    raw_body,
    sse,
    usage_of,
)
from .sse import SSEDecoder, SSEError

JSON_HEADERS = {"content-type": "application/json"}


class OpenAIOptions(msgspec.Struct, forbid_unknown_fields=True):
    """Options of an OpenAI-compatible server reached through the adapter."""

    stream_usage: Annotated[
        bool,
        Meta(
            description="ask for the usage chunk on every stream (accounting needs it) and drop it "
            "again when the caller did not ask; `false` for servers that reject `stream_options`"
        ),
    ] = True


class OpenAICompatAdapter:
    name = "openai"

    def __init__(self, options: Mapping[str, Any] | msgspec.Struct | None = None) -> None:
        self.options: OpenAIOptions = decode_options(options or {}, OpenAIOptions)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"}

    def accepted_params(self) -> ApiParams:
        return OPENAI_API

    # ----------------------------------------------------------------- chat

    def chat_call(self, request: ChatRequest, upstream_model: str, base_url: str) -> UpstreamCall:
        return UpstreamCall("/chat/completions", dict(JSON_HEADERS), self.chat_body(request, upstream_model))

    def chat_body(self, request: ChatRequest, upstream_model: str) -> bytes:
        force_usage = bool(request.stream) and self.options.stream_usage and not request.wants_usage
        raw = raw_body(request)
        if raw is None:  # built by an ingress translator: encode the Struct itself
            if request.model != upstream_model or force_usage:
                request = msgspec.structs.replace(
                    request,
                    model=upstream_model,
                    stream_options=StreamOptions(include_usage=True)
                    if force_usage
                    else request.stream_options,
                )
            return ENCODER.encode(request)
        if request.model == upstream_model and not force_usage:
            return raw  # untouched: the common case costs nothing
        doc = orjson.loads(raw)
        doc["model"] = upstream_model
        if force_usage:
            options = doc.get("stream_options")
            doc["stream_options"] = (
                {**options, "include_usage": True} if isinstance(options, dict) else {"include_usage": True}
            )
        return orjson.dumps(doc)

    def chat_response(self, status: int, body: bytes, public_model: str) -> tuple[int, bytes]:
        # OpenAI's own answer (errors included) is already in the caller's format.
        return status, body

    def chat_stream(self, public_model: str, include_usage: bool) -> PassThroughStream:
        return PassThroughStream(self.name, keep_usage_chunk=include_usage or not self.options.stream_usage)

    # ----------------------------------------------------------------- embeddings

    def embeddings_call(self, request: EmbeddingsRequest, upstream_model: str, base_url: str) -> UpstreamCall:
        if request.model != upstream_model:
            request = msgspec.structs.replace(request, model=upstream_model)
        return UpstreamCall("/embeddings", dict(JSON_HEADERS), ENCODER.encode(request))

    def embeddings_response(
        self, status: int, body: bytes, public_model: str, encoding_format: str | None = None
    ) -> tuple[int, bytes]:
        return status, body


class PassThroughStream:
    """OpenAI SSE in, the same events out; reads usage and the end marker on the way."""

    __slots__ = ("_done", "_failed", "_finished", "_keep_usage", "_provider", "_sse", "usage")

    def __init__(self, provider: str, keep_usage_chunk: bool) -> None:
        self._provider = provider
        self._keep_usage = keep_usage_chunk
        self._sse = SSEDecoder()
        self._done = False  # saw [DONE]
        self._finished = False  # saw a finish_reason
        self._failed = False  # sent an error event; nothing follows it
        self.usage: Usage | None = None

    def feed(self, data: bytes) -> bytes:
        if self._failed:
            return b""
        try:
            events = self._sse.feed(data)
        except SSEError:
            return self._fail(errors.malformed(self._provider))
        return self._relay(events)

    def close(self) -> bytes:
        if self._failed:
            return b""
        tail = self._sse.close()  # an event the upstream did not finish with a blank line
        if any(payload != b"[DONE]" and not _is_json(payload) for payload in tail):
            return self._fail(errors.truncated(self._provider))
        out = self._relay(tail)
        if self._failed or self._done:
            return out
        if self._finished:  # some servers end without [DONE]; the answer itself is complete
            self._done = True
            return out + SSE_DONE
        return out + self._fail(errors.truncated(self._provider))

    def _relay(self, events: list[bytes]) -> bytes:
        out = []
        for payload in events:
            if self._done or self._failed:
                break
            if payload == b"[DONE]":
                self._done = True
                out.append(SSE_DONE)
                continue
            if b'"error"' in payload and payload.lstrip().startswith(b'{"error"'):
                self._failed = True  # the upstream's own error event: relay it, then stop
                out.append(sse(payload))
                continue
            if b'"finish_reason":"' in payload or b'"finish_reason": "' in payload:
                self._finished = True
            if b'"usage"' in payload:
                found = usage_of(payload)
                if found is not None:
                    self.usage = found
                    if not self._keep_usage and b'"choices":[]' in payload.replace(b" ", b""):
                        continue  # the usage chunk aigw asked for on its own behalf
            out.append(sse(payload))
        return b"".join(out)

    def _fail(self, event: bytes) -> bytes:
        self._failed = True
        return event


def _is_json(payload: bytes) -> bool:
    try:
        msgspec.json.decode(payload)
    except msgspec.DecodeError:
        return False
    return True
