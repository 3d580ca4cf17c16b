"""The caller's side of a request: which API format it speaks, for answers and errors.

Inside aigw everything is OpenAI Chat Completions; a caller on the Anthropic Messages ingress
gets every answer, stream and error translated into Anthropic's format here.
"""

from __future__ import annotations

from typing import Any

from ..errors import GatewayError, anthropic_json, openai_json
from ..ingress import anthropic as anthropic_ingress
from ..ingress.anthropic_stream import MessagesStream


class OpenAICaller:
    name = "openai"

    def error(self, err: GatewayError) -> bytes:
        return openai_json(err)

    def answer(self, status: int, openai_body: bytes) -> tuple[int, bytes]:
        return status, openai_body

    def stream(self) -> Any:
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
