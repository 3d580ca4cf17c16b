"""The adapter registry and the pieces every adapter shares."""

from __future__ import annotations

import json

import pytest

from gateway.errors import GatewayError, openai_json
from gateway.providers import adapter_for, unsupported
from gateway.providers.anthropic import AnthropicOptions
from gateway.providers.canonical import CHAT_REQUEST_DECODER, decode_chat, raw_body, usage_of
from gateway.providers.content import split_data_url
from gateway.providers.registry import REGISTRY

from .helpers import body_of


@pytest.mark.parametrize("provider_type", sorted(REGISTRY))
def test_every_registered_type_builds_an_adapter(provider_type):
    adapter = adapter_for(provider_type)
    for method in (
        "auth_headers",
        "chat_call",
        "chat_response",
        "chat_stream",
        "embeddings_call",
        "embeddings_response",
    ):
        assert callable(getattr(adapter, method))
    assert adapter.chat_stream("m", True).usage is None


def test_unknown_type_and_options():
    with pytest.raises(ValueError, match="unknown provider type 'bedrock'; known types: anthropic"):
        adapter_for("bedrock")
    options = AnthropicOptions(default_max_tokens=7)
    assert adapter_for("anthropic", options).options is options  # the config schema may embed the Struct
    with pytest.raises(ValueError, match="invalid provider options"):
        adapter_for("anthropic", {"default_max_tokens": "many"})


def test_what_a_provider_cannot_express_is_an_openai_400():
    err = unsupported("n > 1 is not supported by anthropic.", "n")
    assert (err.status, err.code, err.type) == (400, "unsupported_parameter", "invalid_request_error")
    assert json.loads(openai_json(err)) == {
        "error": {
            "message": "n > 1 is not supported by anthropic.",
            "type": "invalid_request_error",
            "param": "n",
            "code": "unsupported_parameter",
        }
    }


def test_decode_keeps_the_raw_body_off_the_wire():
    raw = body_of("openai/request_default.json")
    request = decode_chat(raw)
    assert raw_body(request) == raw
    assert raw_body(CHAT_REQUEST_DECODER.decode(raw)) is None


def test_usage_of_reads_only_usage():
    assert usage_of(body_of("openai/response_tools.json")).prompt_tokens_details.cached_tokens == 1920
    assert usage_of(b'{"choices": []}') is None
    assert usage_of(b"not json") is None


@pytest.mark.parametrize("url", ["data:image/png,abc", "data:;base64,abc", "data:image/png;base64"])
def test_bad_data_urls(url):
    with pytest.raises(GatewayError, match="data URL"):
        split_data_url(url, "p")
