"""The upstream side of one request, across its attempts: what goes to each target's provider and
how its answer comes back as OpenAI Chat Completions.

OpenAI-format providers (`openai`, `mock`) take the caller's bytes as they are — the fast path —
with `model` rewritten when the deployment names another upstream model, a service's defaults
filled in and the target's parameter changes applied, all in one parse. Others go through their
adapter (gateway/providers/): the request is decoded once into the canonical Struct and built
anew for each provider tried.

Before anything is sent, each target's parameter rules (gateway/models/params.py) drop what its
API version or model does not take, and refuse (or, if the group clamps, clamp) what is out of
range; `review` says what was done, for the response's headers and the call record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
import orjson

from ..errors import GatewayError
from ..models.params import UNCHANGED, ParamError, Review
from ..providers.base import StreamTranslator
from ..providers.canonical import ChatRequest, EmbeddingsRequest, decode_chat
from ..upstream import encode_headers
from .targets import Target

_encoder = msgspec.json.Encoder()


class Exchange:
    """What a ChatExchange and an EmbeddingsExchange share; the class says which it is."""

    __slots__ = ("_canonical", "body", "clamp", "defaults", "is_chat", "model", "request", "review", "stream")

    is_chat: bool  # a chat completion, else embeddings
    body: bytes  # the caller's OpenAI JSON (b"" when an ingress gave the canonical request)
    model: str  # the public model name the caller asked for
    stream: bool
    defaults: Mapping[str, Any] | None  # a service's parameters for requests that leave them out
    # The caller's request as the data plane decoded it (what parameter rules look at); its
    # bytes, not this, are what goes to a provider that speaks OpenAI.
    request: Any
    clamp: bool  # out-of-range values are clamped, not refused (the group's clamp_params)
    review: Review  # what the last target's rules changed
    _canonical: ChatRequest | None

    def canonical(self) -> ChatRequest:
        if self._canonical is None:
            body = self.body if self.defaults is None else rewrite(self.body, None, self.defaults)
            self._canonical = decode_chat(body)
        return self._canonical

    def call(self, target: Target) -> tuple[bytes, bytes, bytes]:
        """(path, header block, body) of this request for `target`; a 400 GatewayError when the
        target cannot take one of its parameters or the provider cannot express the request."""
        adapter = target.adapter
        self.review = UNCHANGED
        if adapter is None:
            path = target.chat_path if self.is_chat else target.embeddings_path
            if self._canonical is not None:  # an ingress translated it: send OpenAI JSON
                request = self._reviewed(target, self._canonical)
                request = msgspec.structs.replace(request, model=target.upstream_model)
                return path, target.header_block, _encoder.encode(request)
            if self.is_chat:
                self._review(target, self.request)  # its changes are made to the bytes
            changes = self.review.changes
            body = self.body
            if changes or self.defaults is not None or self.model != target.upstream_model:
                body = rewrite(body, target.upstream_model, self.defaults, changes)
            return path, target.header_block, body
        if self.is_chat:
            request = self._reviewed(target, self.canonical())
            call = adapter.chat_call(request, target.upstream_model, target.base_url)
            if call.dropped:  # what the adapter left out as its provider refuses it
                self.review = self.review._replace(dropped=(*self.review.dropped, *call.dropped))
        else:
            call = adapter.embeddings_call(self.request, target.upstream_model, target.base_url)
        headers = encode_headers([*call.headers.items(), *target.key_headers])
        return call.path.encode(), headers, call.body

    def _review(self, target: Target, request: ChatRequest) -> None:
        """What `target`'s rules make of `request`, in `review`; a 400 when they refuse it."""
        try:
            self.review = target.params.review(request, self.clamp)
        except ParamError as exc:
            raise GatewayError(400, "invalid_request_error", exc.code, exc.message, exc.param) from None

    def _reviewed(self, target: Target, request: ChatRequest) -> ChatRequest:
        """`request` as `target` takes it: its rules' changes applied."""
        self._review(target, request)
        if self.review.changes:
            return msgspec.structs.replace(request, **self.review.changes)
        return request

    def answer(self, target: Target, status: int, body: bytes) -> tuple[int, bytes]:
        """The provider's answer as OpenAI JSON (a completion, or an OpenAI error)."""
        adapter = target.adapter
        if adapter is None:
            return status, body
        if self.is_chat:
            return adapter.chat_response(status, body, self.model)
        return adapter.embeddings_response(status, body, self.model, self.request.encoding_format)

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

    def __init__(
        self,
        body: bytes,
        request: ChatRequest,
        defaults: Mapping[str, Any] | None = None,
        clamp: bool = False,
    ):
        self.is_chat = True
        self.body = body
        self.model = request.model
        self.stream = bool(request.stream)
        self.defaults = defaults or None
        self.request = request
        self.clamp = clamp
        self.review = UNCHANGED
        self._canonical = None

    @classmethod
    def translated(
        cls, request: ChatRequest, defaults: Mapping[str, Any] | None = None, clamp: bool = False
    ) -> ChatExchange:
        """A chat request an ingress has already made canonical (the Anthropic Messages API)."""
        if defaults:
            unset = {k: v for k, v in defaults.items() if getattr(request, k, 0) is None}
            request = msgspec.structs.replace(request, **unset)
        exchange = cls(b"", request, clamp=clamp)
        exchange._canonical = request
        return exchange


class EmbeddingsExchange(Exchange):
    """An Embeddings request."""

    __slots__ = ()

    def __init__(self, body: bytes, request: EmbeddingsRequest):
        self.is_chat = False
        self.body = body
        self.model = request.model
        self.stream = False
        self.defaults = None
        self.request = request
        self.clamp = False
        self.review = UNCHANGED
        self._canonical = None


def rewrite(
    body: bytes,
    model: str | None,
    defaults: Mapping[str, Any] | None,
    changes: Mapping[str, Any] | None = None,
) -> bytes:
    """The caller's JSON in one parse: `defaults` where it set nothing, then `changes` (a value, or
    None to leave the field out), then another `model` (unless None). Everything else is kept as
    sent."""
    doc: dict[str, Any] = orjson.loads(body)
    if defaults is not None:
        for name, value in defaults.items():
            if doc.get(name) is None:
                doc[name] = value
    if changes:
        for name, value in changes.items():
            if value is None:
                doc.pop(name, None)
            else:
                doc[name] = value
    if model is not None:
        doc["model"] = model
    return orjson.dumps(doc)
