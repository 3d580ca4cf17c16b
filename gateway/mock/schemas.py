"""The request bodies the mock reads, as msgspec Structs.

Typed decoding is faster than dicts, and unknown fields are ignored, like OpenAI's lenient parsing.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .errors import BAD_JSON, validation_error


class Part(msgspec.Struct):
    type: str = "text"
    text: str | None = None


class Message(msgspec.Struct):
    role: str
    content: str | list[Part] | None = None


class StreamOptions(msgspec.Struct):
    include_usage: bool | None = None


class ChatRequest(msgspec.Struct):
    model: str
    messages: list[Message]
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    n: int | None = None


class EmbeddingRequest(msgspec.Struct):
    model: str
    input: str | list[str | int | list[int]]
    dimensions: int | None = None
    encoding_format: str | None = None


CHAT = msgspec.json.Decoder(ChatRequest)
EMBEDDING = msgspec.json.Decoder(EmbeddingRequest)


def read(decoder: msgspec.json.Decoder[Any], body: bytes) -> Any:
    """The body decoded, or the (status, OpenAI error body) to answer instead."""
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        return validation_error(exc)
    except msgspec.DecodeError:
        return BAD_JSON


def message_text(msg: Message) -> str:
    content = msg.content
    if content is None or isinstance(content, str):
        return content or ""
    return " ".join(p.text for p in content if p.type == "text" and p.text)
