"""The Anthropic Messages API: its request, answer, stream-event and error shapes, and how its
vocabulary maps to OpenAI's; shared by the Anthropic adapter and the Anthropic ingress.

Request content blocks are tagged unions: the ingress decodes callers' requests with them, so a
block type aigw cannot express fails decoding with its path named. What the provider sends back
(response content, stream events) decodes into flat Structs instead, so block and event types
added by Anthropic later are skipped rather than failing the whole answer.
Docs: https://docs.anthropic.com/en/api/messages and /en/docs/build-with-claude/streaming
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta

from ..models.params import Range
from .canonical import FinishReason, usage
from .canonical import Usage as OpenAIUsage
from .errors import by_status

# API versions (the `anthropic-version` header) and the sampling parameters each takes, with their
# ranges (https://docs.anthropic.com/en/api/versioning, /en/api/messages). 2026-10-21 has none:
# it answers 400 to temperature, top_p or top_k, even at their default values.
VERSION: Final = "2026-10-21"
LEGACY_VERSION: Final = "2023-06-01"
VERSIONS: dict[str, dict[str, Range]] = {
    LEGACY_VERSION: {"temperature": Range(0, 1), "top_p": Range(0, 1), "top_k": Range(0)},
    VERSION: {},
}

# --------------------------------------------------------------------------- request


class Base64Source(msgspec.Struct, tag="base64", tag_field="type"):
    media_type: str
    data: str


class URLSource(msgspec.Struct, tag="url", tag_field="type"):
    url: str


class TextSource(msgspec.Struct, tag="text", tag_field="type"):
    media_type: str
    data: str


class TextBlock(msgspec.Struct, tag="text", tag_field="type", omit_defaults=True):
    text: str
    # Read from callers only to refuse them where the API version does (never sent upstream).
    citations: list[Any] | None = None


class ImageBlock(msgspec.Struct, tag="image", tag_field="type"):
    source: Base64Source | URLSource


class DocumentBlock(msgspec.Struct, tag="document", tag_field="type", omit_defaults=True):
    source: Base64Source | URLSource | TextSource
    title: str | None = None


class ToolUseBlock(msgspec.Struct, tag="tool_use", tag_field="type"):
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(msgspec.Struct, tag="tool_result", tag_field="type", omit_defaults=True):
    tool_use_id: str
    content: str | list[TextBlock | ImageBlock] | None = None
    is_error: bool | None = None


class ThinkingBlock(msgspec.Struct, tag="thinking", tag_field="type"):
    thinking: str
    signature: str


class RedactedThinkingBlock(msgspec.Struct, tag="redacted_thinking", tag_field="type"):
    data: str


Block = (
    TextBlock
    | ImageBlock
    | DocumentBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RedactedThinkingBlock
)


class MessageParam(msgspec.Struct):
    # A system message within `messages`: the MessageParam union of anthropic SDK 2.x.
    role: Literal["user", "assistant", "system"]
    content: str | list[Block]


class ToolParam(msgspec.Struct, omit_defaults=True):
    name: str
    input_schema: dict[str, Any] | None = None  # absent on server tools, which have a `type`
    description: str | None = None
    type: str | None = None


class ToolChoiceAuto(msgspec.Struct, tag="auto", tag_field="type", omit_defaults=True):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceAny(msgspec.Struct, tag="any", tag_field="type", omit_defaults=True):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceTool(msgspec.Struct, tag="tool", tag_field="type", omit_defaults=True):
    name: str
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNone(msgspec.Struct, tag="none", tag_field="type"):
    pass


ToolChoice = ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone


class Metadata(msgspec.Struct, omit_defaults=True):
    user_id: str | None = None


class JSONOutputFormat(msgspec.Struct, tag="json_schema", tag_field="type"):
    schema: dict[str, Any]


class OutputConfig(msgspec.Struct):
    format: JSONOutputFormat


class MessagesRequest(msgspec.Struct, omit_defaults=True):
    model: str
    messages: Annotated[list[MessageParam], Meta(min_length=1)]
    max_tokens: Annotated[int, Meta(ge=1)]
    system: str | list[TextBlock] | None = None
    stop_sequences: list[str] | None = None
    temperature: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_k: Annotated[int, Meta(ge=0)] | None = None
    tools: list[ToolParam] | None = None
    tool_choice: ToolChoice | None = None
    metadata: Metadata | None = None
    output_config: OutputConfig | None = None
    stream: bool | None = None
    # Typed so that a wrong one is a 400 naming it; the ingress does not carry them on.
    thinking: dict[str, Any] | None = None
    service_tier: str | None = None


# --------------------------------------------------------------------------- response


class ResponseBlock(msgspec.Struct, omit_defaults=True):
    """Any content block of an answer; `type` says which fields are set."""

    type: str
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None


class Usage(msgspec.Struct):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class Message(msgspec.Struct):
    id: str
    content: list[ResponseBlock]
    model: str
    stop_reason: str | None = None  # defaults only make decoding lenient: every field is encoded
    stop_sequence: str | None = None
    usage: Usage = msgspec.field(default_factory=Usage)
    type: str = "message"
    role: str = "assistant"


class EventDelta(msgspec.Struct):
    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None


class ErrorObject(msgspec.Struct):
    type: str
    message: str


class DeltaUsage(msgspec.Struct):
    output_tokens: int | None = None
    input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class Event(msgspec.Struct):
    """Any stream event, decoded in one pass whatever its `type`."""

    type: str
    message: Message | None = None
    index: int | None = None
    content_block: ResponseBlock | None = None
    delta: EventDelta | None = None
    usage: DeltaUsage | None = None
    error: ErrorObject | None = None


class ErrorResponse(msgspec.Struct):
    error: ErrorObject
    type: str = "error"


ENCODER = msgspec.json.Encoder()
REQUEST_DECODER = msgspec.json.Decoder(MessagesRequest)
MESSAGE_DECODER = msgspec.json.Decoder(Message)
EVENT_DECODER = msgspec.json.Decoder(Event)
ERROR_DECODER = msgspec.json.Decoder(ErrorResponse)


# --------------------------------------------------------------------------- vocabulary mapping
# Shared by the adapter, its stream translator and the Anthropic ingress (which maps back).

JSON_TOOL = "json_response"  # the forced tool of JSON mode (see anthropic.py)
JSON_TOOL_DESCRIPTION = (
    "Answer with a JSON value matching this input schema. Always call this tool to answer."
)

STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# Anthropic error type -> OpenAI (type, code); the status is kept as Anthropic sent it.
ERROR_TYPES: dict[str, tuple[str, str]] = {
    "invalid_request_error": ("invalid_request_error", "invalid_request"),
    "authentication_error": ("authentication_error", "invalid_api_key"),
    "billing_error": ("insufficient_quota", "insufficient_quota"),
    "permission_error": ("permission_error", "permission_denied"),
    "not_found_error": ("invalid_request_error", "not_found"),
    "request_too_large": ("invalid_request_error", "request_too_large"),
    "rate_limit_error": ("rate_limit_error", "rate_limit_exceeded"),
    "timeout_error": ("api_error", "timeout"),
    "api_error": ("api_error", "internal_error"),
    "overloaded_error": ("api_error", "overloaded"),
}


def finish_reason(stop_reason: str | None, called_tools: bool) -> FinishReason:
    reason = STOP_REASONS.get(stop_reason or "end_turn", "stop")
    if reason == "tool_calls" and not called_tools:
        return "stop"  # only the JSON-mode tool was called: to the caller that is a plain answer
    return reason


def openai_usage(u: Usage | DeltaUsage) -> OpenAIUsage:
    # Anthropic's input_tokens excludes cache reads and writes; OpenAI's prompt_tokens includes them.
    read = u.cache_read_input_tokens or 0
    prompt = (u.input_tokens or 0) + read + (u.cache_creation_input_tokens or 0)
    return usage(prompt, u.output_tokens or 0, cached=read)


def openai_error_kind(error: ErrorObject, status: int) -> tuple[str, str]:
    if "credit balance" in error.message:
        # Anthropic reports an empty prepaid balance as a 400; key health must see it as quota.
        return "insufficient_quota", "insufficient_quota"
    return ERROR_TYPES.get(error.type) or by_status(status)
