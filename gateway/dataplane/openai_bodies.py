"""The OpenAI bodies the data plane reads and writes itself: views of the requests it checks
before admission, and the model list it answers.

Only fields aigw reads or must check are typed; everything else passes through untouched (the
original bytes are forwarded), so provider-specific extras keep working.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ChatMessage(msgspec.Struct):
    role: Role
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class StreamOptions(msgspec.Struct):
    include_usage: bool = False


class ChatRequest(msgspec.Struct):
    model: str
    messages: Annotated[list[ChatMessage], Meta(min_length=1)]
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, Meta(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Meta(ge=1)] | None = None
    n: Annotated[int, Meta(ge=1, le=128)] | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    # Read for the target's parameter rules (gateway/models/params.py): present or not, as sent.
    top_k: Annotated[int, Meta(ge=0)] | None = None
    presence_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    tools: list[Any] | None = None


class EmbeddingsRequest(msgspec.Struct):
    model: str
    input: str | Annotated[list[str | int | list[int]], Meta(min_length=1)]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[int, Meta(ge=1)] | None = None
    user: str | None = None


class ModelCard(msgspec.Struct):
    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = "aigw"


class ModelList(msgspec.Struct):
    data: list[ModelCard]
    object: str = "list"


CHAT_DECODER = msgspec.json.Decoder(ChatRequest)
EMBEDDINGS_DECODER = msgspec.json.Decoder(EmbeddingsRequest)
MODEL_LIST_ENCODER = msgspec.json.Encoder()
