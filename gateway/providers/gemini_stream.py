"""Gemini `streamGenerateContent?alt=sse` -> OpenAI `chat.completion.chunk`s.

Every SSE event is a whole GenerateContentResponse holding the next piece of each candidate.
Text parts become `content` deltas and each `functionCall` part one complete tool call. Gemini
has no end-of-stream event, and older models repeat `finishReason` on every event, so finish
reasons are held until the upstream closes: the stream is complete when the last event of every
candidate carried a finish reason; otherwise it was cut and ends with an error event.
State: a few scalars per candidate (n of them), whatever the stream's length.
"""

from __future__ import annotations

import secrets

import msgspec

from . import errors
from . import gemini_api as api
from .canonical import (
    ENCODER,
    SSE_DONE,
    Delta,
    FunctionDelta,
    ToolCallDelta,
)
from .chunk_stream import ChunkStream

PROVIDER = "gemini"


class _Candidate:
    __slots__ = ("finish", "tools")

    def __init__(self) -> None:
        self.finish: str | None = None  # finishReason of the latest event for this candidate
        self.tools = 0  # tool calls so far


class GeminiStream(ChunkStream):
    provider = PROVIDER

    __slots__ = ("_candidates",)

    def __init__(self, public_model: str, include_usage: bool) -> None:
        super().__init__(public_model, include_usage)
        self._candidates: dict[int, _Candidate] = {}

    def close(self) -> bytes:
        if self._done or self._failed:
            return b""
        out = self._events(self._sse.close())
        if self._failed:
            return out
        pending = not self._candidates or any(c.finish is None for c in self._candidates.values())
        if pending:
            return out + self._fail(errors.truncated(PROVIDER))
        self._done = True
        tail = [
            self._chunk(Delta(), api.finish_reason(c.finish, c.tools > 0), index)
            for index, c in sorted(self._candidates.items())
        ]
        if self._include_usage and self.usage is not None:
            tail.append(self._usage_chunk())
        return out + b"".join(tail) + SSE_DONE

    def _events(self, payloads: list[bytes]) -> bytes:
        out: list[bytes] = []
        for payload in payloads:
            try:
                answer = api.RESPONSE_DECODER.decode(payload)
            except msgspec.DecodeError:
                out.append(self._fail(errors.malformed(PROVIDER)))
                break
            out.append(self._answer(answer))
            if self._failed:
                break
        return b"".join(out)

    def _answer(self, answer: api.GenerateContentResponse) -> bytes:
        if answer.error is not None:
            _, kind, code = api.openai_error_kind(answer.error, answer.error.code or 500)
            message = f"{answer.error.message or answer.error.status} (from {PROVIDER})"
            return self._fail(errors.stream_error(message, kind, code))
        if not self._id:
            self._id = f"chatcmpl-{answer.response_id or secrets.token_hex(12)}"
        if answer.usage_metadata is not None:
            self.usage = api.openai_usage(answer.usage_metadata)
        out: list[bytes] = []
        for candidate in answer.candidates:
            state = self._candidates.get(candidate.index)
            if state is None:
                state = self._candidates[candidate.index] = _Candidate()
                out.append(self._chunk(Delta(role="assistant", content=""), None, candidate.index))
            state.finish = candidate.finish_reason
            for part in candidate.content.parts if candidate.content else ():
                if part.function_call is not None:
                    out.append(self._tool_call(candidate.index, state, part))
                elif part.text and not part.thought:
                    out.append(self._chunk(Delta(content=part.text), None, candidate.index))
        return b"".join(out)

    def _tool_call(self, index: int, state: _Candidate, part: api.Part) -> bytes:
        fn = part.function_call
        assert fn is not None
        arguments = ENCODER.encode(fn.args or {}).decode()
        call = ToolCallDelta(
            index=state.tools,
            id=fn.id or api.with_signature(part.thought_signature),
            type="function",
            function=FunctionDelta(name=fn.name, arguments=arguments),
        )
        state.tools += 1
        return self._chunk(Delta(tool_calls=[call]), None, index)
