"""The upstream side of one request, across its attempts: what goes to each target's provider and
how its answer comes back as OpenAI Chat Completions.

OpenAI-format providers (`openai`, `mock`) take the caller's bytes as they are — only `model` is
rewritten when the deployment names another upstream model — which is the fast path. Others go
through their adapter (gateway/providers/): the request is decoded once into the canonical
Struct and built anew for each provider tried.

Before anything is sent, each target's parameter rules (gateway/models/params.py) drop what its
API version or model does not take, and refuse (or, if the group clamps, clamp) what is out of
range; `review` says what was done, for the response's headers and the call record.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..models.params import UNCHANGED, ParamError, Review
from ..providers.base import TranslationError
from ..providers.canonical import ChatRequest, EmbeddingsRequest, decode_chat
from ..upstream import encode_headers
from .errors import GatewayError
from .proxy import rewrite_body
from .targets import Target

_encoder = msgspec.json.Encoder()


class Exchange:
    __slots__ = ("_canonical", "body", "chat", "clamp", "model", "request", "review", "stream")

    def __init__(
        self,
        chat: bool,
        body: bytes,
        model: str,
        stream: bool,
        canonical: ChatRequest | None = None,
        request: Any = None,
        clamp: bool = False,
    ):
        self.chat = chat  # chat completion, else embeddings
        self.body = body  # the caller's OpenAI JSON (unused when an ingress gave `canonical`)
        self.model = model  # the public model name the caller asked for
        self.stream = stream
        self._canonical = canonical
        # The caller's request as the data plane decoded it (what parameter rules look at).
        self.request = canonical if canonical is not None else request
        self.clamp = clamp  # out-of-range values are clamped, not refused (the group's clamp_params)
        self.review: Review = UNCHANGED  # what the last target's rules changed

    def canonical(self) -> ChatRequest:
        if self._canonical is None:
            try:
                self._canonical = decode_chat(self.body)
            except TranslationError as exc:
                raise _bad_request(exc) from None
        return self._canonical

    def call(self, target: Target) -> tuple[bytes, bytes, bytes]:
        """(path, header block, body) of this request for `target`; a GatewayError (400) when the
        target refuses one of its parameters."""
        adapter = target.adapter
        self.review = UNCHANGED
        if adapter is None:
            if self._canonical is not None:  # an ingress translated it: send OpenAI JSON
                request = self._reviewed(target, self._canonical)
                request = msgspec.structs.replace(request, model=target.upstream_model)
                return (
                    target.chat_path if self.chat else target.embeddings_path,
                    target.header_block,
                    _encoder.encode(request),
                )
            if self.chat and self.request is not None:
                self._reviewed(target, self.request)
            changes = self.review.changes
            if self.model != target.upstream_model:
                changes = {**changes, "model": target.upstream_model}
            body = rewrite_body(self.body, changes) if changes else self.body
            return target.chat_path if self.chat else target.embeddings_path, target.header_block, body
        try:
            if self.chat:
                request = self._reviewed(target, self.canonical())
                call = adapter.chat_call(request, target.upstream_model, target.base_url)
                if call.dropped:  # what the adapter left out as its provider refuses it
                    self.review = self.review._replace(dropped=(*self.review.dropped, *call.dropped))
            else:
                embeddings = msgspec.json.decode(self.body, type=EmbeddingsRequest)
                call = adapter.embeddings_call(embeddings, target.upstream_model, target.base_url)
        except TranslationError as exc:
            raise _bad_request(exc) from None
        headers = encode_headers([*call.headers.items(), *target.key_headers])
        return call.path.encode(), headers, call.body

    def _reviewed(self, target: Target, request: Any) -> Any:
        """`request` as `target` takes it (a Struct: its changes applied; the caller's view: the
        changes are applied to the bytes by `call`)."""
        try:
            self.review = target.params.review(request, self.clamp)
        except ParamError as exc:
            raise GatewayError(400, "invalid_request_error", exc.code, exc.message, exc.param) from None
        if self.review.changes and isinstance(request, ChatRequest):
            return msgspec.structs.replace(request, **self.review.changes)
        return request

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


def _bad_request(exc: TranslationError) -> GatewayError:
    return GatewayError(exc.status, exc.type, exc.code, exc.message, exc.param)


class _Encoding(msgspec.Struct):
    encoding_format: str | None = None


def _encoding_format(body: bytes) -> str | None:
    return msgspec.json.decode(body, type=_Encoding).encoding_format
