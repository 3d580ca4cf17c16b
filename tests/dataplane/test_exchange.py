"""What goes upstream for each target: the caller's bytes where they can go as they are, one
rewrite where the model or a service's defaults differ, the adapter's request otherwise."""

from __future__ import annotations

import json

import orjson
import pytest

from gateway.config.schema import PROVIDER_TYPES
from gateway.dataplane import exchange as exchange_module
from gateway.dataplane.exchange import ChatExchange, EmbeddingsExchange
from gateway.dataplane.targets import Target
from gateway.providers.canonical import (
    CHAT_REQUEST_DECODER,
    EMBEDDINGS_REQUEST_DECODER,
    ChatRequest,
    Message,
)

BODY = json.dumps(
    {
        "model": "mini",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 1.5,
        "vendor_extension": {"keep": True},
    }
).encode()
REQUEST = CHAT_REQUEST_DECODER.decode(BODY)
DEFAULTS = {"temperature": 0.1, "max_tokens": 2, "seed": 7}


def target(type: str, upstream_model: str) -> Target:
    provider = PROVIDER_TYPES[type](name=type, base_url="http://127.0.0.1:9/v1", keys=[])
    return Target(provider, provider.base_url, "k1", "sk-secret", upstream_model)


def test_the_callers_bytes_go_as_they_are_when_nothing_changes():
    path, _, body = ChatExchange(BODY, REQUEST).call(target("openai", "mini"))
    assert path == b"/chat/completions" and body is BODY


def test_another_model_and_a_services_defaults_are_one_rewrite(monkeypatch):
    parses = []
    loads = orjson.loads

    def counting_loads(data: bytes) -> object:
        parses.append(data)
        return loads(data)

    monkeypatch.setattr(exchange_module.orjson, "loads", counting_loads)
    _, _, body = ChatExchange(BODY, REQUEST, DEFAULTS).call(target("openai", "gpt-4o-mini-2024-07-18"))
    assert len(parses) == 1
    sent = json.loads(body)
    assert sent["model"] == "gpt-4o-mini-2024-07-18"
    # The caller's own temperature stays; what it left out comes from the defaults.
    assert (sent["temperature"], sent["max_tokens"], sent["seed"]) == (1.5, 2, 7)
    assert sent["vendor_extension"] == {"keep": True}


def test_an_adapter_builds_from_the_request_with_the_defaults():
    _, _, body = ChatExchange(BODY, REQUEST, DEFAULTS).call(target("azure", "gpt-4o-mini"))
    sent = json.loads(body)
    assert (sent["temperature"], sent["max_tokens"], sent["seed"]) == (1.5, 2, 7)


def test_an_ingress_request_gets_the_defaults_it_left_out():
    request = ChatRequest(model="mini", messages=[Message(role="user", content="hi")], top_p=0.5, stream=True)
    exchange = ChatExchange.translated(request, {"top_p": 0.9, "max_tokens": 2})
    assert (exchange.model, exchange.stream, exchange.is_chat) == ("mini", True, True)
    sent = json.loads(exchange.call(target("openai", "mini"))[2])
    assert (sent["top_p"], sent["max_tokens"]) == (0.5, 2)


def test_embeddings_are_not_chat():
    body = b'{"model": "e", "input": "x"}'
    exchange = EmbeddingsExchange(body, EMBEDDINGS_REQUEST_DECODER.decode(body))
    assert (exchange.is_chat, exchange.stream) == (False, False)
    assert exchange.call(target("openai", "e"))[0] == b"/embeddings"


@pytest.mark.parametrize("model", [None, "other"])
def test_rewrite_keeps_everything_else(model):
    doc = json.loads(exchange_module.rewrite(BODY, model, None))
    assert doc == {**json.loads(BODY), "model": model or "mini"}
