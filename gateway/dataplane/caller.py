"""The caller's side of a request: which API format it speaks, for answers and errors.

Inside aigw everything is OpenAI Chat Completions; a caller on the Anthropic Messages ingress
gets every answer, stream and error translated into Anthropic's format here.
"""

from __future__ import annotations

from typing import Protocol

from ..errors import GatewayError, anthropic_json, openai_json
from ..ingress import anthropic as anthropic_ingress
from ..ingress.anthropic_stream import MessagesStream


class CallerStream(Protocol):
    """OpenAI SSE bytes in (split anywhere), the caller's stream out."""

    def feed(self, data: bytes) -> bytes: ...

    def close(self) -> bytes: ...


class Caller(Protocol):
    """The caller's API format: its errors, its answers, and its streams (None: OpenAI's own)."""

    def error(self, err: GatewayError) -> bytes: ...

    def answer(self, status: int, openai_body: bytes) -> tuple[int, bytes]: ...

    def stream(self) -> CallerStream | None: ...


class OpenAICaller:
    name = "openai"

    def error(self, err: GatewayError) -> bytes:
        return openai_json(err)

    def answer(self, status: int, openai_body: bytes) -> tuple[int, bytes]:
        return status, openai_body

    def stream(self) -> CallerStream | None:
        return None


class AnthropicCaller:
    name = "anthropic"

    def __init__(self, public_model: str):
        self.model = public_model

    def error(self, err: GatewayError) -> bytes:
        return anthropic_json(err)

    def answer(self, status: int, openai_body: bytes) -> tuple[int, bytes]:
        # A ChatCompletion becomes a Message; an OpenAI error becomes Anthropic's error shape.
        return anthropic_ingress.message_response(status, openai_body, self.model)

    def stream(self) -> MessagesStream:
        return MessagesStream(self.model)


OPENAI = OpenAICaller()
