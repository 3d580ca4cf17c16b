"""Anthropic stream events -> OpenAI `chat.completion.chunk`s, one event at a time.

Event flow (https://docs.anthropic.com/en/docs/build-with-claude/streaming): `message_start`,
then per content block `content_block_start`, `content_block_delta`s, `content_block_stop`, then
`message_delta` (stop reason, output tokens) and `message_stop`; `ping`s anywhere, `error` on
failure. Text deltas become `content`; a `tool_use` block becomes one OpenAI tool call (its
`input_json_delta`s become `arguments` pieces). State is a few scalars: memory stays constant
however long the stream.
"""

from __future__ import annotations

import msgspec

from . import anthropic_api as api
from . import errors
from .canonical import (
    SSE_DONE,
    Delta,
    FinishReason,
    FunctionDelta,
    ToolCallDelta,
)
from .chunk_stream import ChunkStream

PROVIDER = "anthropic"

# What the open content block is: its text goes to `content`, `tool` to tool-call arguments,
# `json` (the JSON-mode tool) to `content`, `skip` (thinking, server tools) nowhere.
TEXT, TOOL, JSON, SKIP = 0, 1, 2, 3


class AnthropicStream(ChunkStream):
    provider = PROVIDER

    __slots__ = (
        "_block",
        "_finish",
        "_input",
        "_tool",
        "_tools",
    )

    def __init__(self, public_model: str, include_usage: bool) -> None:
        super().__init__(public_model, include_usage)
        self._block = SKIP
        self._tool = -1  # OpenAI index of the open tool call
        self._tools = 0  # tool calls so far
        self._input: api.Usage | None = None  # message_start's usage; message_delta adds to it
        self._finish: FinishReason | None = None

    def close(self) -> bytes:
        if self._done or self._failed:
            return b""
        out = self._events(self._sse.close())
        if self._done or self._failed:
            return out
        if self._finish is not None:  # cut after message_delta: nothing of the answer is missing
            return out + self._event(api.Event(type="message_stop"))
        return out + self._fail(errors.truncated(PROVIDER))

    # ----------------------------------------------------------------- events

    def _events(self, payloads: list[bytes]) -> bytes:
        out = []
        for payload in payloads:
            if self._done or self._failed:
                break
            try:
                event = api.EVENT_DECODER.decode(payload)
            except msgspec.DecodeError:
                out.append(self._fail(errors.malformed(PROVIDER)))
                break
            piece = self._event(event)
            if piece:
                out.append(piece)
        return b"".join(out)

    def _event(self, ev: api.Event) -> bytes:
        kind = ev.type
        if kind == "content_block_delta":
            delta = ev.delta
            if delta is None:
                return b""
            if delta.type == "text_delta" and delta.text and self._block == TEXT:
                return self._chunk(Delta(content=delta.text))
            if delta.type == "input_json_delta" and delta.partial_json:
                if self._block == TOOL:
                    piece = ToolCallDelta(
                        index=self._tool, function=FunctionDelta(arguments=delta.partial_json)
                    )
                    return self._chunk(Delta(tool_calls=[piece]))
                if self._block == JSON:
                    return self._chunk(Delta(content=delta.partial_json))
            return b""
        if kind == "content_block_start":
            return self._block_start(ev.content_block)
        if kind == "content_block_stop":
            self._block = SKIP
            return b""
        if kind == "message_start":
            if ev.message is not None:
                self._id = ev.message.id
                self._input = ev.message.usage
                self.usage = api.openai_usage(ev.message.usage)
            return self._chunk(Delta(role="assistant", content=""))
        if kind == "message_delta":
            return self._message_delta(ev)
        if kind == "message_stop":
            self._done = True
            tail = [self._usage_chunk()] if self._include_usage and self.usage is not None else []
            return b"".join([*tail, SSE_DONE])
        if kind == "error" and ev.error is not None:
            openai_type, code = api.openai_error_kind(ev.error, 500)
            message = f"{ev.error.message} (from {PROVIDER})"
            return self._fail(errors.stream_error(message, openai_type, code))
        return b""  # ping, and event types added after this was written

    def _block_start(self, block: api.ResponseBlock | None) -> bytes:
        if block is None or block.type not in ("text", "tool_use"):
            self._block = SKIP
            return b""
        if block.type == "text":
            self._block = TEXT
            return self._chunk(Delta(content=block.text)) if block.text else b""
        if block.name == api.JSON_TOOL:
            self._block = JSON
            return b""
        self._block = TOOL
        self._tool = self._tools
        self._tools += 1
        call = ToolCallDelta(
            index=self._tool,
            id=block.id,
            type="function",
            function=FunctionDelta(name=block.name, arguments=""),
        )
        return self._chunk(Delta(tool_calls=[call]))

    def _message_delta(self, ev: api.Event) -> bytes:
        if ev.usage is not None:
            base = self._input or api.Usage()
            u = ev.usage  # cumulative counts; input figures appear here on newer API versions
            merged = api.Usage(
                input_tokens=u.input_tokens if u.input_tokens is not None else base.input_tokens,
                output_tokens=u.output_tokens if u.output_tokens is not None else base.output_tokens,
                cache_creation_input_tokens=u.cache_creation_input_tokens
                if u.cache_creation_input_tokens is not None
                else base.cache_creation_input_tokens,
                cache_read_input_tokens=u.cache_read_input_tokens
                if u.cache_read_input_tokens is not None
                else base.cache_read_input_tokens,
            )
            self._input = merged
            self.usage = api.openai_usage(merged)
        if ev.delta is None or ev.delta.stop_reason is None or self._finish is not None:
            return b""
        self._finish = api.finish_reason(ev.delta.stop_reason, self._tools > 0)
        return self._chunk(Delta(), self._finish)

    # ----------------------------------------------------------------- output
