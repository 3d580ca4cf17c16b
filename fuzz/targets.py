"""The functions fuzzed: each takes outside input and lets escape only the error meant for it.

Shared by the hypothesis tests in the suite (tests/fuzz/) and the atheris entry points
(`python -m fuzz.atheris_main TARGET`) that explore with coverage guidance.
"""

from __future__ import annotations

import functools
import json

from gateway.config.loader import ConfigError, parse_config
from gateway.errors import GatewayError, decode_body
from gateway.ingress import anthropic as ingress
from gateway.ingress.anthropic_stream import MessagesStream
from gateway.providers.base import StreamTranslator, adapter_for
from gateway.providers.canonical import EMBEDDINGS_REQUEST_DECODER, decode_chat, is_json_object
from gateway.providers.registry import REGISTRY

# The provider types reached through an adapter (the others pass the caller's bytes through).
ADAPTERS = tuple(sorted(name for name, kind in REGISTRY.items() if not kind.passthrough))


def _refused(exc: GatewayError) -> None:
    if exc.status != 400:
        raise AssertionError(f"a {exc.status} for a caller's body: {exc!r}")


def request_decoders(data: bytes) -> None:
    """A caller's body, read by each route's decoder: a request, or a 400."""
    for read in (
        decode_chat,
        functools.partial(decode_body, EMBEDDINGS_REQUEST_DECODER),
        ingress.chat_request,
        functools.partial(ingress.chat_request, version="2026-10-21"),
    ):
        try:
            read(data)
        except GatewayError as exc:
            _refused(exc)


def config_text(text: str) -> None:
    """A config file's text: a Config, or a ConfigError listing its problems."""
    try:
        parse_config(text, env={})
    except ConfigError as exc:
        if not exc.problems:
            raise AssertionError("a ConfigError without a problem") from None


def answer_translators(provider_type: str, status: int, body: bytes) -> None:
    """A provider's answer, translated to OpenAI's format (and on to Anthropic's for the ingress):
    JSON, whatever JSON object came in (the data plane answers 502 for anything else)."""
    if not is_json_object(body):
        return
    out_status, out = adapter_for(provider_type).chat_response(status, body, "m")
    json.loads(out)
    if out_status == 200:
        _, message = ingress.message_response(out_status, out, "m")
        json.loads(message)


def stream_translators(provider_type: str, pieces: list[bytes]) -> None:
    """A provider's stream in arbitrary pieces: each translator takes it and ends it."""
    translator: StreamTranslator | MessagesStream
    if provider_type == "messages":  # OpenAI chunks to Anthropic events (the ingress)
        translator = MessagesStream("m")
    else:
        translator = adapter_for(provider_type).chat_stream("m", True)
    for piece in pieces:
        translator.feed(piece)
    translator.close()
