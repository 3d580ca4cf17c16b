"""OpenAI chunks -> Anthropic stream events, for Anthropic callers served by any provider.

`message_start` goes out with the first chunk; text opens a `text` block, a tool call opens a
`tool_use` block whose argument pieces become `input_json_delta`s; `[DONE]` closes the open
block and sends `message_delta` (stop reason, usage) and `message_stop`. OpenAI reports usage
only at the end, so `message_start` carries zero input tokens and `message_delta` the real
counts (the anthropic SDK takes input tokens from there too).
"""

from __future__ import annotations

import msgspec

from ..errors import GatewayError, anthropic_sse
from ..providers import anthropic_api as api
from ..providers.canonical import ToolCallDelta, Usage
from ..providers.sse import SSEDecoder, SSEError
from .anthropic import STOP_REASONS, anthropic_usage

# --------------------------------------------------------------------------- what is read


class _Delta(msgspec.Struct):
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class _Choice(msgspec.Struct):
    delta: _Delta | None = None
    index: int = 0
    finish_reason: str | None = None


class _ErrorBody(msgspec.Struct):
    message: str = ""
    type: str | None = None
    code: str | int | None = None


class _Chunk(msgspec.Struct):
    """A chunk or an error event; lenient, since any OpenAI-compatible server may produce it."""

    id: str = ""
    choices: list[_Choice] = []
    usage: Usage | None = None
    error: _ErrorBody | None = None


_CHUNK = msgspec.json.Decoder(_Chunk)

# --------------------------------------------------------------------------- what is written


class _TextDelta(msgspec.Struct, tag="text_delta", tag_field="type"):
    text: str


class _JSONDelta(msgspec.Struct, tag="input_json_delta", tag_field="type"):
    partial_json: str


class _MessageStart(msgspec.Struct, tag="message_start", tag_field="type"):
    message: api.Message


class _BlockStart(msgspec.Struct, tag="content_block_start", tag_field="type"):
    index: int
    content_block: api.ResponseBlock


class _BlockDelta(msgspec.Struct, tag="content_block_delta", tag_field="type"):
    index: int
    delta: _TextDelta | _JSONDelta


class _BlockStop(msgspec.Struct, tag="content_block_stop", tag_field="type"):
    index: int


class _StopDelta(msgspec.Struct):
    stop_reason: str
    stop_sequence: None = None


class _MessageDelta(msgspec.Struct, tag="message_delta", tag_field="type"):
    delta: _StopDelta
    usage: api.Usage


class _MessageStop(msgspec.Struct, tag="message_stop", tag_field="type"):
    pass


_Event = _MessageStart | _BlockStart | _BlockDelta | _BlockStop | _MessageDelta | _MessageStop
_ENCODER = msgspec.json.Encoder()


def _event(ev: _Event) -> bytes:
    name: str = type(ev).__struct_config__.tag  # type: ignore[assignment]
    return b"event: " + name.encode() + b"\ndata: " + _ENCODER.encode(ev) + b"\n\n"


NO_BLOCK, TEXT, TOOL = 0, 1, 2


class MessagesStream:
    """Feed OpenAI SSE bytes (split anywhere), get Anthropic SSE bytes."""

    __slots__ = (
        "_block",
        "_blocks",
        "_done",
        "_failed",
        "_finish",
        "_model",
        "_sse",
        "_started",
        "_tool",
        "_tool_id",
        "usage",
    )

    def __init__(self, public_model: str) -> None:
        self._model = public_model
        self._sse = SSEDecoder()
        self._started = False
        self._block = NO_BLOCK  # kind of the open content block
        self._blocks = 0  # content blocks opened so far; the open one is _blocks - 1
        self._tool = -1  # OpenAI index of the tool call in the open block
        self._tool_id: str | None = None
        self._finish: str | None = None
        self._done = False
        self._failed = False
        self.usage: Usage | None = None

    def feed(self, data: bytes) -> bytes:
        if self._done or self._failed:
            return b""
        try:
            payloads = self._sse.feed(data)
        except SSEError:
            return self._fail("The upstream stream could not be read.", "upstream_bad_response")
        return self._payloads(payloads)

    def close(self) -> bytes:
        if self._done or self._failed:
            return b""
        out = self._payloads(self._sse.close())
        if self._done or self._failed:
            return out
        if self._finish is not None:  # ended without [DONE], but the answer itself is complete
            return out + self._end()
        truncated = "The upstream ended the stream before it was complete. Retry the request."
        return out + self._fail(truncated, "upstream_stream_truncated")

    def _payloads(self, payloads: list[bytes]) -> bytes:
        out: list[bytes] = []
        for payload in payloads:
            if self._done or self._failed:
                break
            if payload == b"[DONE]":
                out.append(self._end())
                continue
            try:
                chunk = _CHUNK.decode(payload)
            except msgspec.DecodeError:
                unreadable = "The upstream sent a stream event that could not be read."
                out.append(self._fail(unreadable, "upstream_bad_response"))
                break
            out.append(self._chunk(chunk))
        return b"".join(out)

    def _chunk(self, chunk: _Chunk) -> bytes:
        if chunk.error is not None:
            error = chunk.error
            code = str(error.code or "upstream_stream_error")
            return self._fail(error.message or "The upstream failed.", code, error.type)
        out = [] if self._started else [self._start(chunk.id)]
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices:
            if choice.index != 0:  # the ingress never asks for n > 1
                continue
            delta = choice.delta
            if delta is not None and delta.content:
                if self._block != TEXT:
                    out.append(self._open(api.ResponseBlock(type="text", text=""), TEXT))
                out.append(_event(_BlockDelta(index=self._blocks - 1, delta=_TextDelta(text=delta.content))))
            for call in (delta.tool_calls if delta else None) or ():
                # A new call has a new index or id; some servers repeat the id on every delta.
                if self._block != TOOL or call.index != self._tool or (call.id and call.id != self._tool_id):
                    fn = call.function
                    block = api.ResponseBlock(
                        type="tool_use",
                        id=call.id or f"toolu_{call.index}",
                        name=(fn.name if fn else None) or "",
                        input={},
                    )
                    out.append(self._open(block, TOOL))
                    self._tool, self._tool_id = call.index, call.id
                if call.function is not None and call.function.arguments:
                    piece = _JSONDelta(partial_json=call.function.arguments)
                    out.append(_event(_BlockDelta(index=self._blocks - 1, delta=piece)))
            if choice.finish_reason:
                self._finish = choice.finish_reason
        return b"".join(out)

    def _start(self, chunk_id: str) -> bytes:
        self._started = True
        message = api.Message(
            id=chunk_id if chunk_id.startswith("msg_") else f"msg_{chunk_id}",
            content=[],
            model=self._model,
            stop_reason=None,
            stop_sequence=None,
            usage=api.Usage(input_tokens=0, output_tokens=0),
        )
        return _event(_MessageStart(message=message))

    def _open(self, block: api.ResponseBlock, kind: int) -> bytes:
        closing = self._close_block()
        self._block = kind
        self._blocks += 1
        return closing + _event(_BlockStart(index=self._blocks - 1, content_block=block))

    def _close_block(self) -> bytes:
        if self._block == NO_BLOCK:
            return b""
        self._block = NO_BLOCK
        return _event(_BlockStop(index=self._blocks - 1))

    def _end(self) -> bytes:
        self._done = True
        start = b"" if self._started else self._start("")
        stop = STOP_REASONS.get(self._finish or "stop", "end_turn")
        delta = _MessageDelta(delta=_StopDelta(stop_reason=stop), usage=anthropic_usage(self.usage))
        return start + self._close_block() + _event(delta) + _event(_MessageStop())

    def _fail(self, message: str, code: str, openai_type: str | None = None) -> bytes:
        self._failed = True
        if openai_type == "rate_limit_error":
            return anthropic_sse(GatewayError(429, openai_type, code, message))
        return anthropic_sse(GatewayError(500, "api_error", code, message))
