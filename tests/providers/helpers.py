"""Fixture loading, stream driving and official-SDK validation shared by the provider tests."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pydantic
from anthropic.types import message_create_params
from openai.types.chat import ChatCompletion, ChatCompletionChunk, completion_create_params

from gateway.providers.base import StreamTranslator
from gateway.providers.canonical import ChatRequest, decode_chat

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(path: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / path).read_text())
    assert doc["source"].startswith(("https://", "github.com")), f"{path} must name its source"
    return doc


def stream_fixture(path: str) -> bytes:
    data = (FIXTURES / path).read_bytes()
    assert data.startswith(b": source: https://"), f"{path} must name its source in a leading SSE comment"
    return data


def body_of(path: str) -> bytes:
    return json.dumps(fixture(path)["body"]).encode()


def chat_request(path: str, **changes: Any) -> ChatRequest:
    doc = fixture(path)["body"]
    doc.update(changes)
    return decode_chat(json.dumps(doc).encode())


# --------------------------------------------------------------------------- streams


def run(translator: StreamTranslator, pieces: Iterable[bytes]) -> bytes:
    out = [translator.feed(piece) for piece in pieces]
    out.append(translator.close())
    return b"".join(out)


def split_at(data: bytes, *cuts: int) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def sse_events(data: bytes, comments: bool = False) -> Iterator[tuple[str | None, str]]:
    """(event name, data) of each SSE event, checking the framing the SDKs rely on.

    aigw never writes comment lines; fixtures name their source in one (`comments=True`)."""
    text = data.decode()
    assert text == "" or text.endswith("\n\n"), "every event ends with a blank line"
    for block in text.split("\n\n"):
        if not block or (comments and block.startswith(":") and "\n" not in block):
            continue
        name = None
        datas = []
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if comments and line.startswith(":"):
                continue
            if field == "event":
                name = value
            else:
                assert field == "data", line
                datas.append(value)
        yield name, "\n".join(datas)


def openai_stream(data: bytes) -> tuple[list[ChatCompletionChunk], bool, dict[str, Any] | None]:
    """OpenAI SSE -> (chunks validated with the openai SDK types, saw [DONE], error payload)."""
    chunks: list[ChatCompletionChunk] = []
    done = False
    error = None
    for name, payload in sse_events(data):
        assert name is None
        assert not done, "nothing may follow [DONE]"
        assert error is None, "nothing may follow an error event"
        if payload == "[DONE]":
            done = True
            continue
        doc = json.loads(payload)
        if "error" in doc:
            error = doc["error"]
            assert set(error) == {"message", "type", "param", "code"}, error
            continue
        chunks.append(ChatCompletionChunk.model_validate(doc))
    return chunks, done, error


def assemble(chunks: list[ChatCompletionChunk]) -> dict[str, Any]:
    """What a client reconstructs from chunks: text, tool calls (by index), finish, usage."""
    text = ""
    calls: dict[int, dict[str, str]] = {}
    finish = None
    usage = None
    for chunk in chunks:
        if chunk.usage is not None:
            usage = chunk.usage.model_dump(exclude_none=True)
        for choice in chunk.choices:
            delta = choice.delta
            text += delta.content or ""
            for call in delta.tool_calls or ():
                slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                if call.id:
                    slot["id"] = call.id
                if call.function and call.function.name:
                    slot["name"] += call.function.name
                if call.function and call.function.arguments:
                    slot["arguments"] += call.function.arguments
            if choice.finish_reason:
                finish = choice.finish_reason
    return {"text": text, "tool_calls": [calls[i] for i in sorted(calls)], "finish": finish, "usage": usage}


def completion(body: bytes) -> ChatCompletion:
    return ChatCompletion.model_validate_json(body)


# --------------------------------------------------------------------------- provider SDK checks

# TypedDicts validate through a TypeAdapter; wrapping in a tuple lets `extra="forbid"` apply to
# the top level, so a field Anthropic does not know fails the check.
_ANTHROPIC_REQUEST = pydantic.TypeAdapter(
    tuple[message_create_params.MessageCreateParamsNonStreaming], config=pydantic.ConfigDict(extra="forbid")
)
_ANTHROPIC_STREAM_REQUEST = pydantic.TypeAdapter(
    tuple[message_create_params.MessageCreateParamsStreaming], config=pydantic.ConfigDict(extra="forbid")
)


def _materialize(value: Any) -> Any:
    # pydantic validates Iterable[...] fields lazily: walk them so every item is checked.
    if isinstance(value, dict):
        return {k: _materialize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_materialize(v) for v in value]
    if hasattr(value, "__next__"):
        return [_materialize(v) for v in value]
    return value


def validate_anthropic_request(body: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(body)
    adapter = _ANTHROPIC_STREAM_REQUEST if doc.get("stream") else _ANTHROPIC_REQUEST
    _materialize(adapter.validate_python((doc,)))
    return doc


_OPENAI_REQUEST = pydantic.TypeAdapter(
    tuple[completion_create_params.CompletionCreateParamsNonStreaming],
    config=pydantic.ConfigDict(extra="forbid"),
)
_OPENAI_STREAM_REQUEST = pydantic.TypeAdapter(
    tuple[completion_create_params.CompletionCreateParamsStreaming],
    config=pydantic.ConfigDict(extra="forbid"),
)


def validate_openai_request(body: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(body)
    adapter = _OPENAI_STREAM_REQUEST if doc.get("stream") else _OPENAI_REQUEST
    _materialize(adapter.validate_python((doc,)))
    return doc


# Gemini's REST request, field by field: the google-genai models forbid unknown fields and
# accept the camelCase wire names.
GEMINI_REQUEST_FIELDS = {
    "contents": "Content",
    "systemInstruction": "Content",
    "tools": "Tool",
    "toolConfig": "ToolConfig",
    "generationConfig": "GenerationConfig",
}


def validate_gemini_request(body: bytes) -> dict[str, Any]:
    from google.genai import types

    doc: dict[str, Any] = json.loads(body)
    assert set(doc) <= set(GEMINI_REQUEST_FIELDS), set(doc) - set(GEMINI_REQUEST_FIELDS)
    for field, model_name in GEMINI_REQUEST_FIELDS.items():
        model = getattr(types, model_name)
        values = doc.get(field)
        for value in values if isinstance(values, list) else [values] if values is not None else []:
            model.model_validate(value)
    return doc
