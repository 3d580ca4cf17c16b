"""The caller's side of a request: which API format it speaks, for answers and errors.

Inside aigw everything is OpenAI Chat Completions; a caller on the Anthropic Messages ingress
gets every answer, stream and error translated into Anthropic's format here.
"""

from __future__ import annotations

from typing import Any

from ..ingress import anthropic as anthropic_ingress
from ..ingress.anthropic_stream import MessagesStream
from .errors import error_json


class OpenAICaller:
    name = "openai"

    def error(
        self, status: int, type: str, code: str | None, message: str, param: str | None = None
    ) -> bytes:
        return error_json(message, type, code, param)

    def answer(self, status: int, openai_body: bytes) -> tuple[int, bytes]:
        return status, openai_body

    def stream(self) -> Any:
        return None


class AnthropicCaller:
    name = "anthropic"

    def __init__(self, public_model: str):
        self.model = public_model

    def error(
        self, status: int, type: str, code: str | None, message: str, param: str | None = None
    ) -> bytes:
        return anthropic_ingress.error_json(status, f"{param}: {message}" if param else message)

    def answer(self, status: int, openai_body: bytes) -> tuple[int, bytes]:
        # A ChatCompletion becomes a Message; an OpenAI error becomes Anthropic's error shape.
        return anthropic_ingress.message_response(status, openai_body, self.model)

    def stream(self) -> MessagesStream:
        return MessagesStream(self.model)


OPENAI = OpenAICaller()
