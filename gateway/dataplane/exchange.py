"""The upstream side of one request, across its attempts: what goes to each target's provider and
how its answer comes back as OpenAI Chat Completions.

OpenAI-format providers (`openai`, `mock`) take the caller's bytes as they are — the fast path —
with `model` rewritten when the deployment names another upstream model and a service's defaults
filled in, both in one parse. Others go through their adapter (gateway/providers/): the request
is decoded once into the canonical Struct and built anew for each provider tried.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
import orjson

from ..providers.base import StreamTranslator
from ..providers.canonical import ChatRequest, EmbeddingsRequest, decode_chat
from ..upstream import encode_headers
from .targets import Target

_encoder = msgspec.json.Encoder()


class Exchange:
    """What a ChatExchange and an EmbeddingsExchange share; the class says which it is."""

    __slots__ = ("_canonical", "body", "defaults", "is_chat", "model", "stream")

    is_chat: bool  # a chat completion, else embeddings
    body: bytes  # the caller's OpenAI JSON (b"" when an ingress gave the canonical request)
    model: str  # the public model name the caller asked for
    stream: bool
    defaults: Mapping[str, Any] | None  # a service's parameters for requests that leave them out
    _canonical: ChatRequest | None

    def canonical(self) -> ChatRequest:
        if self._canonical is None:
            body = self.body if self.defaults is None else rewrite(self.body, None, self.defaults)
            self._canonical = decode_chat(body)
        return self._canonical

    def call(self, target: Target) -> tuple[bytes, bytes, bytes]:
        """(path, header block, body) of this request for `target`."""
        adapter = target.adapter
        if adapter is None:
            path = target.chat_path if self.is_chat else target.embeddings_path
            if self._canonical is not None:  # an ingress translated it: send OpenAI JSON
                request = msgspec.structs.replace(self._canonical, model=target.upstream_model)
                return path, target.header_block, _encoder.encode(request)
            body = self.body
            if self.defaults is not None or self.model != target.upstream_model:
                body = rewrite(body, target.upstream_model, self.defaults)
            return path, target.header_block, body
        # A request the provider cannot express raises a 400 GatewayError.
        if self.is_chat:
            call = adapter.chat_call(self.canonical(), target.upstream_model, target.base_url)
        else:
            embeddings = msgspec.json.decode(self.body, type=EmbeddingsRequest)
            call = adapter.embeddings_call(embeddings, target.upstream_model, target.base_url)
        headers = encode_headers([*call.headers.items(), *target.key_headers])
        return call.path.encode(), headers, call.body

    def answer(self, target: Target, status: int, body: bytes) -> tuple[int, bytes]:
        """The provider's answer as OpenAI JSON (a completion, or an OpenAI error)."""
        adapter = target.adapter
        if adapter is None:
            return status, body
        if self.is_chat:
            return adapter.chat_response(status, body, self.model)
        encoding = _encoding_format(self.body)
        return adapter.embeddings_response(status, body, self.model, encoding)

    def translator(self, target: Target) -> StreamTranslator | None:
        """A stream translator to OpenAI chunks, or None when the provider speaks them already."""
        if target.adapter is None:
            return None
        request = self.canonical()
        include = bool(request.stream_options and request.stream_options.include_usage)
        return target.adapter.chat_stream(self.model, include)


class ChatExchange(Exchange):
    """A Chat Completions request."""

    __slots__ = ()

    def __init__(self, body: bytes, model: str, stream: bool, defaults: Mapping[str, Any] | None = None):
        self.is_chat = True
        self.body = body
        self.model = model
        self.stream = stream
        self.defaults = defaults or None
        self._canonical = None

    @classmethod
    def translated(cls, request: ChatRequest, defaults: Mapping[str, Any] | None = None) -> ChatExchange:
        """A chat request an ingress has already made canonical (the Anthropic Messages API)."""
        if defaults:
            unset = {k: v for k, v in defaults.items() if getattr(request, k, 0) is None}
            request = msgspec.structs.replace(request, **unset)
        exchange = cls(b"", request.model, bool(request.stream))
        exchange._canonical = request
        return exchange


class EmbeddingsExchange(Exchange):
    """An Embeddings request."""

    __slots__ = ()

    def __init__(self, body: bytes, model: str):
        self.is_chat = False
        self.body = body
        self.model = model
        self.stream = False
        self.defaults = None
        self._canonical = None


def rewrite(body: bytes, model: str | None, defaults: Mapping[str, Any] | None) -> bytes:
    """The caller's JSON with another `model` (unless None) and `defaults` where it set nothing,
    in one parse: everything else is kept as sent."""
    doc: dict[str, Any] = orjson.loads(body)
    if defaults is not None:
        for name, value in defaults.items():
            if doc.get(name) is None:
                doc[name] = value
    if model is not None:
        doc["model"] = model
    return orjson.dumps(doc)


class _Encoding(msgspec.Struct):
    encoding_format: str | None = None


def _encoding_format(body: bytes) -> str | None:
    return msgspec.json.decode(body, type=_Encoding).encoding_format
