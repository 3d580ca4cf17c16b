"""The canonical wire format every adapter translates to and from: OpenAI Chat Completions.

Requests decode leniently where OpenAI-compatible servers extend the format (content parts and
tools are flat Structs keyed by `type`, so an unknown part type still decodes and the adapter
that cannot express it answers 400), and strictly where a value is checked (ranges, roles).
Responses and stream chunks are built by translators and encoded with `omit_defaults`, so
optional fields only appear when set, as in OpenAI's own answers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from ..errors import decode_body

# --------------------------------------------------------------------------- request

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]

# The parts of a request are `gc=False`: what JSON decodes to holds no reference cycle, so the
# collector need not track them, and each request's are cheaper to build and free.


class ImageURL(msgspec.Struct, gc=False, omit_defaults=True):
    url: str
    detail: str | None = None


class InputAudio(msgspec.Struct, gc=False):
    data: str
    format: str


class FileRef(msgspec.Struct, gc=False, omit_defaults=True):
    file_data: str | None = None  # a data URL
    file_id: str | None = None
    filename: str | None = None


class ContentPart(msgspec.Struct, gc=False, omit_defaults=True):
    """One part of a multi-part message; `type` says which of the optional fields is set."""

    type: str
    text: str | None = None
    image_url: ImageURL | None = None
    input_audio: InputAudio | None = None
    file: FileRef | None = None
    refusal: str | None = None


class FunctionCall(msgspec.Struct, gc=False):
    name: str
    arguments: str  # JSON text, as the model wrote it


class ToolCall(msgspec.Struct, gc=False):
    id: str
    function: FunctionCall
    type: str = "function"


class Message(msgspec.Struct, gc=False, omit_defaults=True):
    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


class FunctionDef(msgspec.Struct, gc=False, omit_defaults=True):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(msgspec.Struct, gc=False, omit_defaults=True):
    type: str  # no default: omit_defaults would drop "function", which OpenAI requires
    function: FunctionDef | None = None


class NamedFunction(msgspec.Struct, gc=False):
    name: str


class NamedToolChoice(msgspec.Struct, gc=False):
    """`{"type": "function", "function": {...}}`; other types (allowed_tools, custom) decode too and
    only translating adapters refuse them (see content.chosen_function)."""

    type: str = "function"
    function: NamedFunction | None = None


class JSONSchemaSpec(msgspec.Struct, gc=False, omit_defaults=True):
    name: str
    schema: dict[str, Any] | None = None
    description: str | None = None
    strict: bool | None = None


class ResponseFormat(msgspec.Struct, gc=False, omit_defaults=True):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaSpec | None = None


class StreamOptions(msgspec.Struct, gc=False, omit_defaults=True):
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


class ChatRequest(msgspec.Struct, omit_defaults=True, dict=True):
    """A Chat Completions request: every parameter OpenAI documents, typed (and ranged) as its API
    reference states, so a wrong one is a 400 naming it before anything is sent
    (https://platform.openai.com/docs/api-reference/chat/create). Values that are OpenAI's to
    extend (reasoning_effort, service_tier, ...) are typed, not enumerated.

    `dict=True` lets `decode_chat` keep the caller's original bytes on the instance without
    making them a wire field: the OpenAI-compatible adapter forwards those bytes, so fields
    this Struct does not declare (vendor extensions) reach the upstream intact.
    """

    model: str
    messages: Annotated[list[Message], Meta(min_length=1)]
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    stop: str | list[str] | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    # Not OpenAI's: Anthropic's and Gemini's, and many OpenAI-compatible servers'.
    top_k: Annotated[int, Meta(ge=0)] | None = None
    max_tokens: Annotated[int, Meta(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Meta(ge=1)] | None = None
    seed: int | None = None
    n: Annotated[int, Meta(ge=1, le=128)] | None = None
    presence_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None
    logit_bias: dict[str, Annotated[float, Meta(ge=-100, le=100)]] | None = None
    modalities: list[str] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    user: str | None = None
    # Passed on as sent; typed so that a wrong one is refused here, not by the provider.
    audio: dict[str, Any] | None = None
    functions: list[FunctionDef] | None = None
    function_call: Literal["none", "auto"] | NamedFunction | None = None
    metadata: dict[str, str] | None = None
    prediction: dict[str, Any] | None = None
    prompt_cache_key: str | None = None
    reasoning_effort: str | None = None
    safety_identifier: str | None = None
    service_tier: str | None = None
    store: bool | None = None
    verbosity: str | None = None
    web_search_options: dict[str, Any] | None = None

    @property
    def output_limit(self) -> int | None:
        # `max_tokens` is deprecated in favour of `max_completion_tokens`; either may be sent.
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    @property
    def stop_list(self) -> list[str] | None:
        return [self.stop] if isinstance(self.stop, str) else self.stop

    @property
    def wants_usage(self) -> bool:
        return self.stream_options is not None and bool(self.stream_options.include_usage)


class EmbeddingsRequest(msgspec.Struct, omit_defaults=True):
    model: str
    input: str | Annotated[list[str | int | list[int]], Meta(min_length=1)]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[int, Meta(ge=1)] | None = None
    user: str | None = None


CHAT_REQUEST_DECODER = msgspec.json.Decoder(ChatRequest)
EMBEDDINGS_REQUEST_DECODER = msgspec.json.Decoder(EmbeddingsRequest)


def decode_chat(body: bytes) -> ChatRequest:
    """Decode a caller's body and keep the original bytes for pass-through adapters; a 400
    GatewayError naming the parameter when it is not a valid request."""
    request = decode_body(CHAT_REQUEST_DECODER, body)
    request.raw = body  # type: ignore[attr-defined]  # see the class docstring
    return request


def raw_body(request: ChatRequest) -> bytes | None:
    raw: bytes | None = getattr(request, "raw", None)
    return raw


# --------------------------------------------------------------------------- response


class PromptTokensDetails(msgspec.Struct):
    cached_tokens: int


class CompletionTokensDetails(msgspec.Struct):
    reasoning_tokens: int


class Usage(msgspec.Struct, omit_defaults=True):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None


def usage(prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> Usage:
    """OpenAI usage: `prompt_tokens` includes cached tokens, `completion_tokens` reasoning."""
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=cached),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=reasoning) if reasoning else None,
    )


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]

# Response Structs encode with `omit_defaults`, so fields OpenAI always sends (`object`, `role`,
# `content`, `finish_reason`) have no default: every constructor names them (kw_only keeps
# OpenAI's key order while letting optional fields sit anywhere).


class AssistantMessage(msgspec.Struct, omit_defaults=True, kw_only=True):
    role: Literal["assistant"]
    content: str | None  # `null` when the answer is tool calls
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None


class Choice(msgspec.Struct):
    index: int
    message: AssistantMessage
    finish_reason: FinishReason
    logprobs: None = None


class ChatCompletion(msgspec.Struct, omit_defaults=True, kw_only=True):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage | None = None


def assistant(content: str | None, tool_calls: list[ToolCall] | None = None) -> AssistantMessage:
    return AssistantMessage(role="assistant", content=content, tool_calls=tool_calls)


# --------------------------------------------------------------------------- stream chunk


class FunctionDelta(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(msgspec.Struct, omit_defaults=True):
    index: int
    id: str | None = None
    type: str | None = None
    function: FunctionDelta | None = None


class Delta(msgspec.Struct, omit_defaults=True):
    role: str | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(msgspec.Struct):
    index: int
    delta: Delta
    finish_reason: FinishReason | None = None  # no omit_defaults here: `null` is always sent


class ChatCompletionChunk(msgspec.Struct, omit_defaults=True, kw_only=True):
    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None


# --------------------------------------------------------------------------- embeddings


class Embedding(msgspec.Struct):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str  # str when encoding_format is base64


class EmbeddingsUsage(msgspec.Struct):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsResponse(msgspec.Struct):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: EmbeddingsUsage


# --------------------------------------------------------------------------- views and codecs

ENCODER = msgspec.json.Encoder()
COMPLETION_DECODER = msgspec.json.Decoder(ChatCompletion)
CHUNK_DECODER = msgspec.json.Decoder(ChatCompletionChunk)


class _UsageView(msgspec.Struct):
    usage: Usage | None = None


_USAGE_VIEW = msgspec.json.Decoder(_UsageView)


def usage_of(body: bytes) -> Usage | None:
    """The usage of an OpenAI JSON answer (completion or chunk), decoding nothing else."""
    try:
        return _USAGE_VIEW.decode(body).usage
    except msgspec.DecodeError:
        return None


class _AnyObject(msgspec.Struct):
    pass


_OBJECT = msgspec.json.Decoder(_AnyObject)


def is_json_object(body: bytes) -> bool:
    """Whether a provider's answer is a JSON object, as every answer of every provider is (errors
    included; a proxy's HTML page, a body cut short or garbled is not): validated in msgspec's C
    parser, its fields skipped, not built."""
    try:
        _OBJECT.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return False
    return True


def sse(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


SSE_DONE = b"data: [DONE]\n\n"
