"""The Gemini API: its request, answer and error shapes (REST, camelCase), and how its vocabulary
maps to OpenAI's.

Docs: https://ai.google.dev/api/generate-content (request and GenerateContentResponse),
https://ai.google.dev/api/caching#Content (Content, Part), https://ai.google.dev/gemini-api/docs/troubleshooting
(error codes). Answers decode leniently: fields added later are skipped, missing ones default.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .canonical import FinishReason, Usage, usage
from .content import call_id
from .errors import by_status

# --------------------------------------------------------------------------- request


class Blob(msgspec.Struct, rename="camel"):
    mime_type: str
    data: str  # base64


class FileData(msgspec.Struct, rename="camel", omit_defaults=True):
    file_uri: str
    mime_type: str | None = None


class FunctionCall(msgspec.Struct, omit_defaults=True):
    name: str
    args: dict[str, Any] | None = None
    id: str | None = None


class FunctionResponse(msgspec.Struct):
    name: str
    response: dict[str, Any]


class Part(msgspec.Struct, rename="camel", omit_defaults=True):
    text: str | None = None
    inline_data: Blob | None = None
    file_data: FileData | None = None
    function_call: FunctionCall | None = None
    function_response: FunctionResponse | None = None
    thought: bool | None = None
    thought_signature: str | None = None


class Content(msgspec.Struct, omit_defaults=True):
    parts: list[Part] = []
    role: str | None = None


class FunctionDeclaration(msgspec.Struct, omit_defaults=True):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class Tool(msgspec.Struct, rename="camel"):
    function_declarations: list[FunctionDeclaration]


class FunctionCallingConfig(msgspec.Struct, rename="camel", omit_defaults=True):
    mode: str
    allowed_function_names: list[str] | None = None


class ToolConfig(msgspec.Struct, rename="camel"):
    function_calling_config: FunctionCallingConfig


class GenerationConfig(msgspec.Struct, rename="camel", omit_defaults=True):
    stop_sequences: list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_output_tokens: int | None = None
    candidate_count: int | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_mime_type: str | None = None
    response_schema: dict[str, Any] | None = None


class GenerateContentRequest(msgspec.Struct, rename="camel", omit_defaults=True):
    contents: list[Content]
    system_instruction: Content | None = None
    tools: list[Tool] | None = None
    tool_config: ToolConfig | None = None
    generation_config: GenerationConfig | None = None


class EmbedRequest(msgspec.Struct, rename="camel", omit_defaults=True):
    model: str
    content: Content
    output_dimensionality: int | None = None


class BatchEmbedRequest(msgspec.Struct):
    requests: list[EmbedRequest]


# --------------------------------------------------------------------------- response


class Candidate(msgspec.Struct, rename="camel"):
    content: Content | None = None
    finish_reason: str | None = None
    index: int = 0


class UsageMetadata(msgspec.Struct, rename="camel"):
    prompt_token_count: int = 0
    candidates_token_count: int = 0
    total_token_count: int = 0
    cached_content_token_count: int = 0
    thoughts_token_count: int = 0
    tool_use_prompt_token_count: int = 0


class PromptFeedback(msgspec.Struct, rename="camel"):
    block_reason: str | None = None


class GenerateContentResponse(msgspec.Struct, rename="camel"):
    candidates: list[Candidate] = []
    usage_metadata: UsageMetadata | None = None
    prompt_feedback: PromptFeedback | None = None
    response_id: str | None = None
    error: GoogleError | None = None  # a stream may end with an error object instead


class ContentEmbedding(msgspec.Struct):
    values: list[float]


class BatchEmbedResponse(msgspec.Struct):
    embeddings: list[ContentEmbedding]


class GoogleError(msgspec.Struct):
    code: int = 0
    message: str = ""
    status: str = ""
    details: list[dict[str, Any]] | None = None


class ErrorEnvelope(msgspec.Struct):
    error: GoogleError


ENCODER = msgspec.json.Encoder()
RESPONSE_DECODER = msgspec.json.Decoder(GenerateContentResponse)
EMBED_DECODER = msgspec.json.Decoder(BatchEmbedResponse)
ERROR_DECODER = msgspec.json.Decoder(ErrorEnvelope)


# --------------------------------------------------------------------------- vocabulary mapping

FINISH_REASONS: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MODEL_ARMOR": "content_filter",
}


def finish_reason(reason: str | None, called_tools: bool) -> FinishReason:
    if called_tools:
        return "tool_calls"
    return FINISH_REASONS.get(reason or "STOP", "stop")


def openai_usage(u: UsageMetadata) -> Usage:
    # promptTokenCount already includes cached tokens, as OpenAI's prompt_tokens does; thinking
    # tokens are billed as output, so they count as completion (reasoning) tokens.
    prompt = u.prompt_token_count + u.tool_use_prompt_token_count
    completion = u.candidates_token_count + u.thoughts_token_count
    return usage(prompt, completion, cached=u.cached_content_token_count, reasoning=u.thoughts_token_count)


# Google RPC status -> OpenAI (type, code).
ERROR_STATUSES: dict[str, tuple[str, str]] = {
    "INVALID_ARGUMENT": ("invalid_request_error", "invalid_request"),
    "FAILED_PRECONDITION": ("invalid_request_error", "failed_precondition"),
    "OUT_OF_RANGE": ("invalid_request_error", "invalid_request"),
    "UNAUTHENTICATED": ("authentication_error", "invalid_api_key"),
    "PERMISSION_DENIED": ("permission_error", "permission_denied"),
    "NOT_FOUND": ("invalid_request_error", "not_found"),
    "RESOURCE_EXHAUSTED": ("rate_limit_error", "rate_limit_exceeded"),
    "INTERNAL": ("api_error", "internal_error"),
    "UNAVAILABLE": ("api_error", "service_unavailable"),
    "DEADLINE_EXCEEDED": ("api_error", "timeout"),
}


def openai_error_kind(err: GoogleError, status: int) -> tuple[int, str, str]:
    """(status, type, code) for a Google error; an invalid key and a daily quota are told apart."""
    reasons = [str(d.get("reason", "")) for d in err.details or ()]
    if "API_KEY_INVALID" in reasons:
        return 401, "authentication_error", "invalid_api_key"  # Google says 400; key health needs 401
    if err.status == "RESOURCE_EXHAUSTED" and "PerDay" in ENCODER.encode(err.details or []).decode():
        return (
            status,
            "insufficient_quota",
            "insufficient_quota",
        )  # a daily quota: the key is spent until reset
    kind, code = ERROR_STATUSES.get(err.status) or by_status(status)
    return status, kind, code


# Thought signatures (Gemini 3) ride in the OpenAI tool call id: "<call id>__ts__<signature>".
SIGNATURE_MARK = "__ts__"


def with_signature(signature: str | None) -> str:
    """A tool call id carrying Gemini's thought signature (URL-safe, so any provider accepts the id)."""
    if not signature:
        return call_id()
    safe = signature.replace("+", "-").replace("/", "_").rstrip("=")
    return f"{call_id()}{SIGNATURE_MARK}{safe}"


def signature_of(tool_call_id: str) -> str | None:
    _, mark, safe = tool_call_id.partition(SIGNATURE_MARK)
    if not mark or not safe:
        return None
    return safe.replace("-", "+").replace("_", "/") + "=" * (-len(safe) % 4)
