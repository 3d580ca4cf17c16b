"""Official SDKs through translation over real HTTP (tests/providers/bridge.py stands in for the
gateway): the openai SDK against Anthropic- and Gemini-format mock upstreams, and the anthropic
SDK against an OpenAI-format upstream, completions and streams, tool calls included."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anthropic
import openai
import pytest

from gateway.providers import adapter_for
from tests.mocks import anthropic_server, gemini_server
from tests.mocks.common import ServerThread

from .bridge import create_bridge

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}},
                "required": ["location"],
            },
        },
    }
]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, ServerThread]]:
    started: dict[str, ServerThread] = {}
    started["anthropic"] = ServerThread(anthropic_server.create_app())
    started["gemini"] = ServerThread(gemini_server.create_app())
    started["via-anthropic"] = ServerThread(
        create_bridge(adapter_for("anthropic"), started["anthropic"].url, "claude-sonnet-5", "sk-ant")
    )
    started["via-gemini"] = ServerThread(
        create_bridge(adapter_for("gemini"), started["gemini"].url, "gemini-3-pro-preview", "AIza")
    )
    # An OpenAI-format upstream that can call tools: the OpenAI-facing bridge in front of the Anthropic mock.
    started["via-openai"] = ServerThread(
        create_bridge(
            adapter_for("openai"), started["via-anthropic"].url + "/v1", "claude-sonnet-5", "sk-any"
        )
    )
    yield started
    for name in ("via-openai", "via-gemini", "via-anthropic", "gemini", "anthropic"):
        started[name].close()


def openai_client(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="sk-caller", max_retries=0, timeout=10)


@pytest.mark.parametrize("upstream", ["via-anthropic", "via-gemini"])
def test_openai_sdk_completion_and_tool_call(servers, upstream):
    client = openai_client(servers[upstream])
    done = client.chat.completions.create(
        model="public", messages=[{"role": "user", "content": "Hello there"}]
    )
    assert done.choices[0].message.content == "Hello there"
    assert done.choices[0].finish_reason == "stop"
    assert done.model == "public" and done.usage.total_tokens > 0
    done = client.chat.completions.create(
        model="public",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=TOOLS,
        tool_choice="required",
    )
    (call,) = done.choices[0].message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"location": "mock"}
    assert done.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("upstream", ["via-anthropic", "via-gemini"])
def test_openai_sdk_stream_with_tool_calls_and_usage(servers, upstream):
    client = openai_client(servers[upstream])
    stream = client.chat.completions.create(
        model="public",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=TOOLS,
        tool_choice="required",
        stream=True,
        stream_options={"include_usage": True},
    )
    name, arguments, finish, usage = "", "", None, None
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or ():
                name += call.function.name or ""
                arguments += call.function.arguments or ""
            finish = choice.finish_reason or finish
    assert (name, json.loads(arguments), finish) == ("get_weather", {"location": "mock"}, "tool_calls")
    assert usage is not None and usage.completion_tokens > 0
    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(
            model="p", messages=[{"role": "user", "content": "one two"}], stream=True
        )
        if c.choices
    )
    assert text == "one two"


@pytest.mark.parametrize("upstream", ["via-anthropic", "via-gemini"])
def test_openai_sdk_sees_upstream_errors_and_broken_streams(servers, upstream):
    client = openai_client(servers[upstream])
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="p", messages=[{"role": "user", "content": "mock:error=429"}])
    with pytest.raises(openai.APIError, match="before it was complete"):
        for _ in client.chat.completions.create(
            model="p", messages=[{"role": "user", "content": "mock:truncate a b c"}], stream=True
        ):
            pass


def test_anthropic_sdk_against_an_openai_format_upstream(servers):
    client = anthropic.Anthropic(
        base_url=servers["via-openai"].url, api_key="sk-caller", max_retries=0, timeout=10
    )
    message = client.messages.create(
        model="claude-sonnet-5", max_tokens=100, messages=[{"role": "user", "content": "Hi there"}]
    )
    assert message.content[0].text == "Hi there" and message.stop_reason == "end_turn"
    tools = [
        {"name": "get_weather", "description": "Weather", "input_schema": TOOLS[0]["function"]["parameters"]}
    ]
    message = client.messages.create(
        model="claude-sonnet-5",
        max_tokens=100,
        tools=tools,
        tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "Weather?"}],
    )
    assert message.stop_reason == "tool_use"
    assert [(b.type, getattr(b, "input", None)) for b in message.content] == [
        ("tool_use", {"location": "mock"})
    ]
    with client.messages.stream(
        model="claude-sonnet-5",
        max_tokens=100,
        tools=tools,
        messages=[{"role": "user", "content": "Weather?"}],
    ) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[1].input == {"location": "mock"}
    assert final.usage.output_tokens > 0 and final.usage.input_tokens > 0
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "mock:error=429"}]
        )
