"""The adapter interface: pure translation between the canonical format and one provider's API.

Adapters do no I/O. The data plane asks an adapter for the upstream call (path, headers, body),
sends it with its own pooled client and key, and hands the answer back for translation; for
streams it feeds the raw upstream bytes to a `StreamTranslator`, in whatever pieces they came.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import msgspec

from ..errors import GatewayError
from ..models.params import ApiParams
from .canonical import ChatRequest, EmbeddingsRequest, Usage
from .registry import REGISTRY, load


class UpstreamCall(msgspec.Struct):
    path: str  # relative to the provider's base_url; may carry a query string
    headers: dict[str, str]  # everything but the credential (see Adapter.auth_headers)
    body: bytes
    # Caller parameters the adapter left out because its provider refuses them (reported).
    dropped: tuple[str, ...] = ()


def unsupported(message: str, param: str | None = None, code: str = "unsupported_parameter") -> GatewayError:
    """A request the target provider cannot express: the caller gets a 400 naming the field."""
    return GatewayError(400, "invalid_request_error", code, message, param)


class StreamTranslator(Protocol):
    usage: Usage | None  # the usage seen so far, for accounting

    def feed(self, data: bytes) -> bytes:
        """Raw upstream bytes, split anywhere -> OpenAI SSE bytes ready to send (may be b"")."""
        ...

    def close(self) -> bytes:
        """The upstream ended: the last chunks and `[DONE]`, or an SSE error event if it was cut."""
        ...


class Adapter(Protocol):
    name: str

    def auth_headers(self, key: str) -> dict[str, str]: ...

    def accepted_params(self) -> ApiParams:
        """The sampling parameters the provider's API version takes, with their ranges
        (gateway/models/params.py)."""
        ...

    def chat_call(self, request: ChatRequest, upstream_model: str, base_url: str) -> UpstreamCall: ...

    def chat_response(self, status: int, body: bytes, public_model: str) -> tuple[int, bytes]:
        """Upstream answer -> OpenAI ChatCompletion JSON, or its error as OpenAI error JSON."""
        ...

    def chat_stream(self, public_model: str, include_usage: bool) -> StreamTranslator: ...

    def embeddings_call(self, request: EmbeddingsRequest, upstream_model: str, base_url: str) -> UpstreamCall:
        """Raises a 400 GatewayError (`no_embeddings`) where the provider has none."""
        ...

    def embeddings_response(
        self, status: int, body: bytes, public_model: str, encoding_format: str | None = None
    ) -> tuple[int, bytes]:
        """`encoding_format` is the caller's, for providers that only answer floats (gemini)."""
        ...


def adapter_for(provider_type: str, options: Mapping[str, Any] | msgspec.Struct | None = None) -> Adapter:
    """Build the adapter for a provider type (gateway/providers/registry.py); `options` is that
    provider's config section.

    It may be a mapping or the adapter's own options Struct (`AnthropicOptions`, …), which the
    config schema embeds directly. Unknown option names raise `ValueError` naming the field
    (the Structs use `forbid_unknown_fields`), so config typos fail at load time.
    """
    registered = REGISTRY.get(provider_type)
    if registered is None:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown provider type {provider_type!r}; known types: {known}")
    adapter: Adapter = load(registered.adapter)(options or {})
    return adapter


def no_embeddings(provider: str) -> GatewayError:
    return unsupported(
        f"The provider '{provider}' has no embeddings API; route embeddings to an OpenAI, Azure "
        "or Gemini deployment.",
        param="model",
        code="unsupported_endpoint",
    )


def decode_options(options: Mapping[str, Any] | msgspec.Struct, kind: type[Any]) -> Any:
    """Options mapping -> the adapter's options Struct, with a config-style error message."""
    if isinstance(options, kind):
        return options
    try:
        return msgspec.convert(options if isinstance(options, msgspec.Struct) else dict(options), kind)
    except msgspec.ValidationError as exc:
        raise ValueError(f"invalid provider options: {exc}") from None
