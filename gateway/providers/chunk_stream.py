"""What every provider-to-OpenAI stream translator shares: SSE framing in, chat.completion.chunk
events out, and silence once the stream finished or failed. Subclasses read their provider's
events in `_events` and say how a stream may end in `close`."""

from __future__ import annotations

import time

from . import errors
from .canonical import ENCODER, ChatCompletionChunk, ChunkChoice, Delta, FinishReason, Usage, sse
from .sse import SSEDecoder, SSEError


class ChunkStream:
    __slots__ = ("_created", "_done", "_failed", "_id", "_include_usage", "_model", "_sse", "usage")

    provider = ""  # for error messages

    def __init__(self, public_model: str, include_usage: bool) -> None:
        self._model = public_model
        self._include_usage = include_usage
        self._sse = SSEDecoder()
        self._id = ""
        self._created = int(time.time())
        self._done = False
        self._failed = False
        self.usage: Usage | None = None

    def feed(self, data: bytes) -> bytes:
        if self._done or self._failed:
            return b""
        try:
            payloads = self._sse.feed(data)
        except SSEError:
            return self._fail(errors.malformed(self.provider))
        return self._events(payloads)

    def _events(self, payloads: list[bytes]) -> bytes:
        raise NotImplementedError

    def _chunk(self, delta: Delta, finish: FinishReason | None = None, index: int = 0) -> bytes:
        chunk = ChatCompletionChunk(
            id=self._id,
            object="chat.completion.chunk",
            created=self._created,
            model=self._model,
            choices=[ChunkChoice(index=index, delta=delta, finish_reason=finish)],
        )
        return sse(ENCODER.encode(chunk))

    def _usage_chunk(self) -> bytes:
        chunk = ChatCompletionChunk(
            id=self._id,
            object="chat.completion.chunk",
            created=self._created,
            model=self._model,
            choices=[],
            usage=self.usage,
        )
        return sse(ENCODER.encode(chunk))

    def _fail(self, event: bytes) -> bytes:
        self._failed = True
        return event
