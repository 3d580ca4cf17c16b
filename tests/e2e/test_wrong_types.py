"""A parameter of the wrong type is a 400 naming it, in the caller's format, before anything is sent:
every documented field of the OpenAI chat completions, embeddings and Anthropic Messages
requests, through a pass-through group and a translated one alike. The mocks would answer what
reaches them, so anything aigw let through shows as a request sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from .conftest import Gateway, openai_and_anthropic_mocks

HELLO = [{"role": "user", "content": "hello types"}]

# Every documented Chat Completions parameter but `model`, with a value of the wrong type.
CHAT_WRONG: dict[str, Any] = {
    "messages": "hello",
    "audio": "alloy",
    "frequency_penalty": "x",
    "function_call": 5,
    "functions": {"name": "f"},
    "logit_bias": [],
    "logprobs": "yes",
    "max_completion_tokens": 1.5,
    "max_tokens": "many",
    "metadata": {"team": 5},
    "modalities": "text",
    "n": "two",
    "parallel_tool_calls": "no",
    "prediction": "guess",
    "presence_penalty": [],
    "prompt_cache_key": 5,
    "reasoning_effort": 5,
    "response_format": "json",
    "safety_identifier": 5,
    "seed": "x",
    "service_tier": 5,
    "stop": 5,
    "store": "yes",
    "stream": "yes",
    "stream_options": "usage",
    "temperature": "hot",
    "tool_choice": 5,
    "tools": {"type": "function"},
    "top_logprobs": "x",
    "top_p": "x",
    "user": 5,
    "verbosity": 5,
    "web_search_options": "on",
}
EMBEDDINGS_WRONG: dict[str, Any] = {"input": 5, "dimensions": "x", "encoding_format": 5, "user": 5}
# Every documented Messages parameter but `model`, with a value of the wrong type.
MESSAGES_WRONG: dict[str, Any] = {
    "messages": "hello",
    "max_tokens": "many",
    "metadata": "me",
    "service_tier": 5,
    "stop_sequences": "END",
    "stream": "yes",
    "system": 5,
    "temperature": "hot",
    "thinking": "on",
    "tool_choice": "auto",
    "tools": {"name": "f"},
    "top_k": "x",
    "top_p": "x",
}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[tuple[Gateway, list[str], str]]:
    with openai_and_anthropic_mocks() as mocks:
        config = f"""{mocks.providers}
model_groups:
  - name: passthrough
    deployments: [{{provider: upstream, model: gpt-4o-mini}}]
  - name: embed
    deployments: [{{provider: upstream, model: text-embedding-3-small}}]
  - name: translated
    deployments: [{{provider: claude, model: claude-sonnet-4-5}}]
tenants:
  - name: default
    apps: [{{name: demo}}]
"""
        gw = Gateway(tmp_path_factory.mktemp("types"), config, capture_log=True)
        key = gw.new_key()
        gw.start()
        yield gw, mocks.urls, key
        assert gw.stop() == 0
        gw.assert_log_clean()


def upstream_stats(urls: list[str]) -> list[Any]:
    return [httpx.get(url + "/_mock/stats").json() for url in urls]


def names(param: str | None, field: str) -> bool:
    """`param` is the field, or a place inside it (`metadata.team`, `messages[0]`)."""
    return param is not None and (param == field or param.startswith((field + ".", field + "[")))


@pytest.fixture
def nothing_sent(gateway) -> Iterator[None]:
    _, upstreams, _ = gateway
    before = upstream_stats(upstreams)
    yield
    assert upstream_stats(upstreams) == before


@pytest.mark.usefixtures("nothing_sent")
@pytest.mark.parametrize("group", ["passthrough", "translated"])
@pytest.mark.parametrize("field", sorted(CHAT_WRONG))
def test_a_chat_parameter_of_the_wrong_type_is_a_400_naming_it(gateway, group, field):
    gw, _, key = gateway
    with openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0) as client:
        body = {"model": group, "messages": HELLO, field: CHAT_WRONG[field]}
        with pytest.raises(openai.BadRequestError) as refused:
            client.post("/chat/completions", body=body, cast_to=httpx.Response)
    error = refused.value.body
    assert isinstance(error, dict) and names(error["param"], field), error
    assert error["type"] == "invalid_request_error" and f"'{error['param']}'" in error["message"]


@pytest.mark.usefixtures("nothing_sent")
@pytest.mark.parametrize("field", sorted(EMBEDDINGS_WRONG))
def test_an_embeddings_parameter_of_the_wrong_type_is_a_400_naming_it(gateway, field):
    gw, _, key = gateway
    with openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0) as client:
        body = {"model": "embed", "input": "hello", field: EMBEDDINGS_WRONG[field]}
        with pytest.raises(openai.BadRequestError) as refused:
            client.post("/embeddings", body=body, cast_to=httpx.Response)
    error = refused.value.body
    assert isinstance(error, dict) and names(error["param"], field), error


@pytest.mark.usefixtures("nothing_sent")
@pytest.mark.parametrize("group", ["passthrough", "translated"])
@pytest.mark.parametrize("field", sorted(MESSAGES_WRONG))
def test_a_messages_parameter_of_the_wrong_type_is_a_400_naming_it(gateway, group, field):
    gw, _, key = gateway
    with anthropic.Anthropic(base_url=gw.base_url, api_key=key, max_retries=0) as client:
        body = {"model": group, "max_tokens": 16, "messages": HELLO, field: MESSAGES_WRONG[field]}
        with pytest.raises(anthropic.BadRequestError) as refused:
            client.post("/v1/messages", body=body, cast_to=httpx.Response)
    error = refused.value.body
    assert isinstance(error, dict) and error["error"]["type"] == "invalid_request_error", error
    assert error["error"]["message"].startswith(field), error


def test_unknown_fields_still_pass_through(gateway):
    gw, _, key = gateway
    with openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0) as client:
        reply = client.chat.completions.create(
            model="passthrough", messages=HELLO, extra_body={"vendor_option": {"any": [1, "shape"]}}
        )
    assert reply.choices[0].message.content
