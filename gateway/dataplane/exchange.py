"""The upstream side of one request, across its attempts: what goes to each target's provider and
how its answer comes back as OpenAI Chat Completions.

OpenAI-format providers (`openai`, `mock`) take the caller's bytes as they are — only `model` is
rewritten when the deployment names another upstream model — which is the fast path. Others go
through their adapter (gateway/providers/): the request is decoded once into the canonical
Struct and built anew for each provider tried.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..providers.canonical import ChatRequest, EmbeddingsRequest, decode_chat
from ..upstream import encode_headers
from .proxy import rewrite_model
from .targets import Target

_encoder = msgspec.json.Encoder()


class Exchange:
    __slots__ = ("_canonical", "body", "chat", "model", "stream")

    def __init__(
        self, chat: bool, body: bytes, model: str, stream: bool, canonical: ChatRequest | None = None
    ):
        self.chat = chat  # chat completion, else embeddings
        self.body = body  # the caller's OpenAI JSON (unused when an ingress gave `canonical`)
        self.model = model  # the public model name the caller asked for
        self.stream = stream
        self._canonical = canonical

    def canonical(self) -> ChatRequest:
        if self._canonical is None:
            self._canonical = decode_chat(self.body)
        return self._canonical

    def call(self, target: Target) -> tuple[bytes, bytes, bytes]:
        """(path, header block, body) of this request for `target`."""
        adapter = target.adapter
        if adapter is None:
            if self._canonical is not None:  # an ingress translated it: send OpenAI JSON
                request = msgspec.structs.replace(self._canonical, model=target.upstream_model)
                return (
                    target.chat_path if self.chat else target.embeddings_path,
                    target.header_block,
                    _encoder.encode(request),
                )
            body = (
                self.body
                if self.model == target.upstream_model
                else rewrite_model(self.body, target.upstream_model)
            )
            return target.chat_path if self.chat else target.embeddings_path, target.header_block, body
        # A request the provider cannot express raises a 400 GatewayError.
        if self.chat:
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
        if self.chat:
            return adapter.chat_response(status, body, self.model)
        encoding = _encoding_format(self.body)
        return adapter.embeddings_response(status, body, self.model, encoding)

    def translator(self, target: Target) -> Any:
        """A stream translator to OpenAI chunks, or None when the provider speaks them already."""
        if target.adapter is None:
            return None
        request = self.canonical()
        include = bool(request.stream_options and request.stream_options.include_usage)
        return target.adapter.chat_stream(self.model, include)


class _Encoding(msgspec.Struct):
    encoding_format: str | None = None


def _encoding_format(body: bytes) -> str | None:
    return msgspec.json.decode(body, type=_Encoding).encoding_format
