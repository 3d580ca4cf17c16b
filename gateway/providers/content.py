"""Helpers every translator needs to read canonical messages: text, data URLs, tool arguments."""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from .base import unsupported
from .canonical import ContentPart, NamedToolChoice

_json = msgspec.json.Decoder()


def text_of(content: str | list[ContentPart] | None, param: str) -> str:
    """The text of a message whose content may only be text (system prompts, tool results)."""
    if content is None or isinstance(content, str):
        return content or ""
    texts = []
    for i, part in enumerate(content):
        if part.type != "text" or part.text is None:
            raise unsupported(
                f"Only text parts are supported here, got a '{part.type}' part.", f"{param}.content[{i}]"
            )
        texts.append(part.text)
    return "\n".join(texts) if len(texts) > 1 else (texts[0] if texts else "")


def split_data_url(url: str, param: str) -> tuple[str, str] | None:
    """`data:<mime>;base64,<data>` -> (mime, data); None when `url` is not a data URL."""
    if not url.startswith("data:"):
        return None
    head, sep, data = url[5:].partition(",")
    mime, _, encoding = head.partition(";")
    if not sep or encoding != "base64" or not mime:
        raise unsupported(
            "A data URL must look like 'data:<media type>;base64,<data>'.", param, code="invalid_data_url"
        )
    return mime, data


def tool_arguments(arguments: str, param: str) -> dict[str, Any]:
    """A tool call's JSON arguments as the object providers other than OpenAI want."""
    if not arguments.strip():
        return {}
    try:
        value = _json.decode(arguments)
    except msgspec.DecodeError:
        raise unsupported(
            "Tool call arguments must be valid JSON.", param, code="invalid_tool_arguments"
        ) from None
    if not isinstance(value, dict):
        raise unsupported("Tool call arguments must be a JSON object.", param, code="invalid_tool_arguments")
    return value


def call_id() -> str:
    """An id for a tool call the provider did not name (Gemini), in OpenAI's `call_` style."""
    return "call_" + secrets.token_hex(12)


def chosen_function(choice: NamedToolChoice, provider: str) -> str:
    if choice.type != "function" or choice.function is None:
        raise unsupported(
            f"tool_choice of type '{choice.type}' is not supported by {provider}.", "tool_choice"
        )
    return choice.function.name
