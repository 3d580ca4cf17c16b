"""Anthropic Messages ingress: Anthropic's documented requests become OpenAI requests the openai SDK's
types accept; OpenAI's documented answers, errors and streams become what the anthropic SDK's
types (and its own stream accumulator) accept."""

from __future__ import annotations

import json

import pydantic
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, RawMessageStreamEvent
from anthropic.types.shared import ErrorResponse
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import GatewayError, anthropic_json
from gateway.ingress import anthropic as ingress
from gateway.ingress.anthropic_stream import MessagesStream
from gateway.providers import adapter_for
from gateway.providers.canonical import ENCODER
from tests.providers.helpers import (
    body_of,
    fixture,
    run,
    split_at,
    sse_events,
    stream_fixture,
    validate_anthropic_request,
    validate_openai_request,
)

EVENTS = pydantic.TypeAdapter(RawMessageStreamEvent)
OPENAI = adapter_for("openai")


def to_openai(path: str, **changes: object) -> dict:
    doc = fixture(path)["body"]
    doc.update(changes)
    request = ingress.chat_request(json.dumps(doc).encode())
    return validate_openai_request(OPENAI.chat_call(request, request.model, "").body)


# --------------------------------------------------------------------------- requests


def test_basic_request():
    assert to_openai("anthropic/request_basic.json") == {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "Hello, world"}],
        "max_tokens": 1024,
    }


def test_images_become_image_url_parts():
    parts = to_openai("anthropic/request_vision.json")["messages"][0]["content"]
    assert parts[0]["image_url"]["url"].startswith("data:image/jpeg;base64,/9j/")
    assert (
        parts[1]["image_url"]["url"]
        == "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"
    )
    assert parts[2] == {"type": "text", "text": "Describe this image."}


def test_tools_system_results_and_choice():
    body = to_openai("anthropic/request_tools.json", stream=True)
    system, user, assistant, tool, follow_up = body["messages"]
    assert system == {
        "role": "system",
        "content": "You are an AI assistant tasked with analyzing weather.\n\nAnswer in one sentence.",
    }
    assert user == {"role": "user", "content": "What is the weather like in San Francisco?"}
    assert assistant["content"].startswith("<thinking>")
    call = assistant["tool_calls"][0]
    assert (call["id"], call["function"]["name"]) == ("toolu_01A09q90qw90lq917835lq9", "get_weather")
    assert json.loads(call["function"]["arguments"]) == {"location": "San Francisco, CA", "unit": "celsius"}
    assert tool == {"role": "tool", "tool_call_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees"}
    assert follow_up == {"role": "user", "content": "Is that warm?"}
    assert body["tools"][0]["function"]["parameters"]["required"] == ["location"]
    assert (body["tool_choice"], body["parallel_tool_calls"]) == ("required", False)
    assert body["stop"] == ["</answer>"]
    assert body["user"] == "13803d75-b4b5-4c3e-b2a2-6f21399b021b"
    assert body["stream_options"] == {"include_usage": True}


def test_round_trip_through_the_anthropic_adapter_keeps_the_conversation():
    original = fixture("anthropic/request_tools.json")["body"]
    request = ingress.chat_request(json.dumps(original).encode())
    call = adapter_for("anthropic").chat_call(request, original["model"], "https://api.anthropic.com")
    back = validate_anthropic_request(call.body)
    assert back["messages"] == original["messages"]
    assert back["tools"] == original["tools"]
    assert back["tool_choice"] == original["tool_choice"]
    assert (
        back["system"] == "You are an AI assistant tasked with analyzing weather.\n\nAnswer in one sentence."
    )


def test_tool_result_error_flag_is_said_in_text():
    doc = fixture("anthropic/request_tools.json")["body"]
    doc["messages"][2]["content"][0]["is_error"] = True
    request = ingress.chat_request(json.dumps(doc).encode())
    assert request.messages[3].content == "Error: 15 degrees"


@pytest.mark.parametrize(
    ("path", "changes", "param"),
    [
        ("anthropic/request_server_tool.json", {}, "tools.0"),
        ("anthropic/request_basic.json", {"max_tokens": "many"}, "max_tokens"),
        (
            "anthropic/request_basic.json",
            {"messages": [{"role": "user", "content": [{"type": "video"}]}]},
            None,
        ),
        (
            "anthropic/request_basic.json",
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t",
                                "content": [
                                    {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}
                                ],
                            }
                        ],
                    }
                ]
            },
            "messages.0.content.0.content.0",
        ),
    ],
)
def test_what_cannot_be_expressed_is_an_anthropic_400(path, changes, param):
    doc = fixture(path)["body"]
    doc.update(changes)
    with pytest.raises(GatewayError) as info:
        ingress.chat_request(json.dumps(doc).encode())
    if param is not None:
        assert info.value.param == param
    assert info.value.status == 400
    error = ErrorResponse.model_validate_json(anthropic_json(info.value))
    assert error.type == "error" and error.error.type == "invalid_request_error"


def test_output_config_becomes_json_schema():
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    body = to_openai(
        "anthropic/request_basic.json", output_config={"format": {"type": "json_schema", "schema": schema}}
    )
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": schema},
    }


# --------------------------------------------------------------------------- responses


def test_text_completion_becomes_a_message():
    status, body = ingress.message_response(200, body_of("openai/response_default.json"), "claude-sonnet-4-5")
    message = Message.model_validate_json(body)
    assert status == 200
    assert message.id == "msg_chatcmpl-123"
    assert message.model == "claude-sonnet-4-5"
    assert message.content[0].type == "text"
    assert message.content[0].text == "\n\nHello there, how may I assist you today?"
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (9, 12)


def test_tool_call_completion_becomes_tool_use_with_cache_usage():
    _, body = ingress.message_response(200, body_of("openai/response_tools.json"), "m")
    message = Message.model_validate_json(body)
    assert message.stop_reason == "tool_use"
    (block,) = message.content
    assert block.type == "tool_use"
    assert (block.id, block.name, block.input) == (
        "call_abc123",
        "get_current_weather",
        {"location": "Boston, MA"},
    )
    assert message.usage.input_tokens == 2006 - 1920
    assert message.usage.cache_read_input_tokens == 1920


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, "rate_limit_error"),
        (401, "authentication_error"),
        (529, "overloaded_error"),
        (502, "api_error"),
        (404, "not_found_error"),
    ],
)
def test_openai_errors_become_anthropic_errors(status, kind):
    raw = json.dumps(fixture("openai/error_rate_limit.json")["body"]).encode()
    out_status, body = ingress.message_response(status, raw, "m")
    error = ErrorResponse.model_validate_json(body)
    assert out_status == status and error.error.type == kind
    assert error.error.message == "Rate limit reached for requests"


# --------------------------------------------------------------------------- streams


def anthropic_events(data: bytes) -> list:
    events = []
    for name, payload in sse_events(data):
        event = (
            EVENTS.validate_python(json.loads(payload))
            if name != "error"
            else ErrorResponse.model_validate_json(payload)
        )
        assert event.type == name
        events.append(event)
    return events


def accumulate(events: list) -> Message:
    snapshot = None
    buffers: dict[int, bytes] = {}
    for event in events:
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=buffers)
    assert snapshot is not None
    return Message.model_validate(snapshot.model_dump())


def translate(data: bytes, *cuts: int) -> bytes:
    return run(MessagesStream("claude-x"), split_at(data, *cuts))


def test_text_stream_accumulates_in_the_sdk():
    events = anthropic_events(translate(stream_fixture("openai/stream_text.sse")))
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    message = accumulate(events)
    assert message.content[0].text == "Hello there"
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (9, 2)


def test_tool_call_stream_becomes_tool_use_block():
    message = accumulate(anthropic_events(translate(stream_fixture("openai/stream_tool_call.sse"))))
    (block,) = message.content
    assert (block.type, block.id, block.name) == ("tool_use", "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather")
    assert block.input == {"location": "Paris, France"}
    assert message.stop_reason == "tool_use"


def test_servers_that_repeat_the_tool_call_id_on_every_delta():
    data = stream_fixture("openai/stream_tool_call.sse").replace(
        b'"index":0,"id":null', b'"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA"'
    )
    message = accumulate(anthropic_events(translate(data)))
    assert [b.type for b in message.content] == ["tool_use"]
    assert message.content[0].input == {"location": "Paris, France"}


def test_anthropic_upstream_chained_through_the_ingress():
    """Anthropic upstream -> OpenAI chunks -> Anthropic events: the SDK sees text then tool use."""
    upstream = adapter_for("anthropic").chat_stream("claude-x", include_usage=True)
    ingress_stream = MessagesStream("claude-x")
    data = stream_fixture("anthropic/stream_tool_use.sse")
    out = (
        ingress_stream.feed(upstream.feed(data))
        + ingress_stream.feed(upstream.close())
        + ingress_stream.close()
    )
    message = accumulate(anthropic_events(out))
    assert [b.type for b in message.content] == ["text", "tool_use"]
    assert message.content[1].input == {"location": "Paris"}
    assert (message.usage.input_tokens, message.usage.output_tokens) == (377, 65)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 3000), max_size=8))
def test_any_split_gives_the_same_events(cuts):
    data = stream_fixture("openai/stream_tool_call.sse")
    assert translate(data, *[c for c in cuts if c <= len(data)]) == translate(data)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2000))
def test_truncated_streams_end_with_an_error_event(end):
    data = stream_fixture("openai/stream_tool_call.sse")
    data = data[: min(end, data.index(b'"finish_reason":"tool_calls"'))]
    events = anthropic_events(translate(data))
    assert events[-1].type == "error" and events[-1].error.type == "api_error"


def test_upstream_error_event_becomes_anthropic_error_event():
    error = {
        "message": "Rate limit reached",
        "type": "rate_limit_error",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    data = b"data: " + json.dumps({"error": error}).encode() + b"\n\n"
    events = anthropic_events(translate(data))
    assert [e.type for e in events] == ["error"]
    assert events[0].error.type == "rate_limit_error"


def test_usage_is_recorded_for_accounting():
    stream = MessagesStream("m")
    run(stream, [stream_fixture("openai/stream_text.sse")])
    assert stream.usage is not None and stream.usage.total_tokens == 11
    assert ENCODER.encode(stream.usage)
