"""Azure OpenAI: the OpenAI wire format at deployment URLs, with an `api-key` header.

Requests and streams are OpenAI's (the compatible adapter's pass-through); what differs is the
URL (`/openai/deployments/{deployment}/chat/completions?api-version=…`), the key header, and
error bodies, where Azure often sends `code` without `type` (`{"error": {"code": "429", …}}`).
Docs: https://learn.microsoft.com/azure/ai-services/openai/reference
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from ..errors import GatewayError, openai_json
from ..models.params import OPENAI_PARAMS, ApiParams
from .base import UpstreamCall, decode_options
from .canonical import ChatRequest, EmbeddingsRequest
from .errors import by_status
from .openai_compat import JSON_HEADERS, OpenAICompatAdapter, OpenAIOptions


class AzureOptions(msgspec.Struct, forbid_unknown_fields=True):
    """Options of an Azure OpenAI resource."""

    api_version: Annotated[
        str,
        Meta(description="the `api-version` query parameter (default: the latest GA version when written)"),
    ] = "2024-10-21"
    deployment: Annotated[
        str | None,
        Meta(description="the Azure deployment to call (none: the deployment's `model` names it)"),
    ] = None
    stream_usage: Annotated[
        bool,
        Meta(
            description="ask for the usage chunk on every stream (accounting needs it) and drop it "
            "again when the caller did not ask"
        ),
    ] = True


class _AzureError(msgspec.Struct):
    message: str = ""
    type: str | None = None
    code: str | int | None = None
    param: str | None = None


class _AzureErrorEnvelope(msgspec.Struct):
    error: _AzureError


_ERROR = msgspec.json.Decoder(_AzureErrorEnvelope)


class AzureAdapter(OpenAICompatAdapter):
    name = "azure"

    def __init__(self, options: Mapping[str, Any] | msgspec.Struct | None = None) -> None:
        self.azure: AzureOptions = decode_options(options or {}, AzureOptions)
        self.options = OpenAIOptions(stream_usage=self.azure.stream_usage)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"api-key": key}

    def accepted_params(self) -> ApiParams:
        # Azure refuses parameters OpenAI's API does not define.
        return ApiParams(f"Azure OpenAI API {self.azure.api_version}", OPENAI_PARAMS)

    def _path(self, base_url: str, upstream_model: str, operation: str) -> str:
        query = f"?api-version={self.azure.api_version}"
        if "/openai/deployments/" in base_url:  # the base URL already names the deployment
            return f"/{operation}{query}"
        return f"/openai/deployments/{self.azure.deployment or upstream_model}/{operation}{query}"

    def chat_call(self, request: ChatRequest, upstream_model: str, base_url: str) -> UpstreamCall:
        path = self._path(base_url, upstream_model, "chat/completions")
        return UpstreamCall(path, dict(JSON_HEADERS), self.chat_body(request, upstream_model))

    def chat_response(self, status: int, body: bytes, public_model: str) -> tuple[int, bytes]:
        return (status, body) if status < 400 else normalize_error(status, body)

    def embeddings_call(self, request: EmbeddingsRequest, upstream_model: str, base_url: str) -> UpstreamCall:
        call = super().embeddings_call(request, upstream_model, base_url)
        call.path = self._path(base_url, upstream_model, "embeddings")
        return call

    def embeddings_response(
        self, status: int, body: bytes, public_model: str, encoding_format: str | None = None
    ) -> tuple[int, bytes]:
        return (status, body) if status < 400 else normalize_error(status, body)


def normalize_error(status: int, body: bytes) -> tuple[int, bytes]:
    """Azure's error body with the `type` and string `code` OpenAI clients expect."""
    kind, default_code = by_status(status)
    try:
        err = _ERROR.decode(body).error
    except msgspec.DecodeError:
        return status, openai_json(
            GatewayError(status, kind, default_code, f"The provider answered {status} (from azure)")
        )
    if err.type and isinstance(err.code, str) and not err.code.isdigit():
        return status, body  # already OpenAI's shape
    code = err.code if isinstance(err.code, str) and not err.code.isdigit() else default_code
    message = err.message or f"The provider answered {status}"
    return status, openai_json(GatewayError(status, err.type or kind, code, message, err.param))
