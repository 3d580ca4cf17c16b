"""Anthropic adapter golden tests: OpenAI requests from OpenAI's docs become Messages API requests
the anthropic SDK's types accept; Anthropic's documented answers and errors come back as OpenAI
JSON the openai SDK's types accept."""

from __future__ import annotations

import json

import pytest

from gateway.errors import GatewayError, openai_json
from gateway.providers import adapter_for
from gateway.providers.anthropic_api import JSON_TOOL

from .helpers import body_of, chat_request, completion, fixture, validate_anthropic_request

ADAPTER = adapter_for("anthropic")
BASE = "https://api.anthropic.com"


def build(path: str, **changes: object) -> dict:
    call = ADAPTER.chat_call(chat_request(path, **changes), "claude-sonnet-4-20250514", BASE)
    assert call.path == "/v1/messages"
    assert call.headers == {"content-type": "application/json", "anthropic-version": "2026-10-21"}
    return validate_anthropic_request(call.body)


# --------------------------------------------------------------------------- requests


def test_default_request_moves_the_developer_prompt_to_system_and_fills_max_tokens():
    body = build("openai/request_default.json")
    assert body == {
        "model": "claude-sonnet-4-20250514",
        "system": "You are a helpful assistant.",
        "messages": [{"role": "user", "content": "Hello!"}],
        "max_tokens": 4096,
    }


def test_image_parts_become_url_and_base64_sources():
    body = build("openai/request_image.json")
    blocks = body["messages"][0]["content"]
    assert blocks[0] == {"type": "text", "text": "What's in this image?"}
    assert blocks[1]["source"]["type"] == "url"
    assert blocks[1]["source"]["url"].startswith("https://upload.wikimedia.org/")
    assert blocks[2]["source"]["type"] == "base64"
    assert blocks[2]["source"]["media_type"] == "image/jpeg"
    assert blocks[2]["source"]["data"].startswith("/9j/")
    assert body["max_tokens"] == 300


def test_tool_round_trip_maps_calls_results_choice_and_sampling():
    body = build("openai/request_tools.json", stream=True)
    assert body["messages"] == [
        {"role": "user", "content": "What's the weather like in Boston today?"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_abc123",
                    "name": "get_current_weather",
                    "input": {"location": "Boston, MA"},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "call_abc123",
                    "content": '{"temperature": 22, "unit": "celsius", "description": "Sunny"}',
                },
                {"type": "text", "text": "And tomorrow?"},
            ],
        },
    ]
    tool = body["tools"][0]
    assert tool["name"] == "get_current_weather"
    assert tool["input_schema"]["required"] == ["location"]
    assert body["tool_choice"] == {"type": "auto"}
    assert body["stop_sequences"] == ["\n\nHuman:"]
    assert body["metadata"] == {"user_id": "user-1234"}
    assert body["stream"] is True
    # API version 2026-10-21 has no sampling parameters: never sent (and Anthropic has no seed).
    assert not {"temperature", "top_p", "seed"} & set(body)


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("required", None, {"type": "any"}),
        ("none", None, {"type": "none"}),
        (
            {"type": "function", "function": {"name": "get_current_weather"}},
            None,
            {"type": "tool", "name": "get_current_weather"},
        ),
        ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    ],
)
def test_tool_choice_mapping(choice, parallel, expected):
    body = build("openai/request_tools.json", tool_choice=choice, parallel_tool_calls=parallel)
    assert body["tool_choice"] == expected


def test_json_schema_uses_a_forced_tool_by_default():
    body = build("openai/request_json_schema.json")
    assert body["system"].startswith("You are a helpful math tutor")
    assert [t["name"] for t in body["tools"]] == [JSON_TOOL]
    assert body["tools"][0]["input_schema"]["required"] == ["steps", "final_answer"]
    assert body["tool_choice"] == {"type": "tool", "name": JSON_TOOL}


def test_json_schema_native_mode_uses_output_config():
    adapter = adapter_for("anthropic", {"json_mode": "native"})
    call = adapter.chat_call(chat_request("openai/request_json_schema.json"), "claude-sonnet-4-5", BASE)
    body = validate_anthropic_request(call.body)
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert "tools" not in body


def test_json_object_with_caller_tools_forces_a_choice_between_them():
    body = build("openai/request_tools.json", response_format={"type": "json_object"})
    assert [t["name"] for t in body["tools"]] == ["get_current_weather", JSON_TOOL]
    assert body["tools"][1]["input_schema"] == {"type": "object"}
    assert body["tool_choice"] == {"type": "any"}


def test_base_url_with_v1_and_auth_header():
    call = ADAPTER.chat_call(chat_request("openai/request_default.json"), "m", "https://proxy.example/v1/")
    assert call.path == "/messages"
    assert ADAPTER.auth_headers("sk-ant-x") == {"x-api-key": "sk-ant-x"}


def test_options_are_checked():
    with pytest.raises(ValueError, match="json_mod"):
        adapter_for("anthropic", {"json_mod": "tool"})
    custom = adapter_for("anthropic", {"default_max_tokens": 1000, "api_version": "2023-06-01"})
    call = custom.chat_call(chat_request("openai/request_default.json"), "m", BASE)
    assert json.loads(call.body)["max_tokens"] == 1000
    assert call.headers["anthropic-version"] == "2023-06-01"
    with pytest.raises(ValueError, match="api_version"):  # a version aigw does not know
        adapter_for("anthropic", {"api_version": "2024-01-01"})


@pytest.mark.parametrize(
    ("changes", "param", "text"),
    [
        ({"n": 2}, "n", "n > 1 is not supported by anthropic"),
        ({"logprobs": True}, "logprobs", "logprobs"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}}
                        ],
                    }
                ]
            },
            "messages[0].content[0]",
            "input_audio",
        ),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id", "tool_call_id"),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{"}}
                        ],
                    }
                ]
            },
            "messages[0].tool_calls[0].function.arguments",
            "valid JSON",
        ),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0]", "custom"),
        (
            {
                "tools": [],
                "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}},
            },
            "tool_choice",
            "allowed_tools",
        ),
    ],
)
def test_what_anthropic_cannot_express_is_a_400(changes, param, text):
    with pytest.raises(GatewayError) as info:
        ADAPTER.chat_call(chat_request("openai/request_default.json", **changes), "m", BASE)
    err = info.value
    assert (err.status, err.param) == (400, param)
    assert text in err.message
    doc = json.loads(openai_json(err))
    assert doc["error"]["type"] == "invalid_request_error" and doc["error"]["param"] == param


def test_embeddings_are_refused():
    with pytest.raises(GatewayError, match="no embeddings"):
        ADAPTER.embeddings_call(None, "m", BASE)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- responses


def test_text_message_becomes_a_chat_completion():
    status, body = ADAPTER.chat_response(200, body_of("anthropic/message_text.json"), "my-claude")
    assert status == 200
    done = completion(body)
    assert done.id == "msg_013Zva2CMHLNnXjNJJKqJ2EF"
    assert done.model == "my-claude"
    assert done.choices[0].message.content == "Hi! My name is Claude."
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None
    assert (done.usage.prompt_tokens, done.usage.completion_tokens, done.usage.total_tokens) == (
        2095,
        503,
        2598,
    )


def test_tool_use_message_becomes_tool_calls():
    _, body = ADAPTER.chat_response(200, body_of("anthropic/message_tool_use.json"), "m")
    choice = completion(body).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content.startswith("<thinking>I need to use get_weather")
    (call,) = choice.message.tool_calls
    assert call.id == "toolu_01A09q90qw90lq917835lq9"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "San Francisco, CA", "unit": "celsius"}


def test_cache_reads_count_as_cached_prompt_tokens():
    _, body = ADAPTER.chat_response(200, body_of("anthropic/message_cached.json"), "m")
    done = completion(body)
    assert done.choices[0].finish_reason == "length"
    assert done.usage.prompt_tokens == 21 + 188086
    assert done.usage.prompt_tokens_details.cached_tokens == 188086


def test_json_mode_tool_input_comes_back_as_text():
    message = fixture("anthropic/message_tool_use.json")["body"]
    message["content"] = [
        {"type": "tool_use", "id": "toolu_1", "name": JSON_TOOL, "input": {"final_answer": "x = -3"}}
    ]
    _, body = ADAPTER.chat_response(200, json.dumps(message).encode(), "m")
    choice = completion(body).choices[0]
    assert (choice.finish_reason, choice.message.tool_calls) == ("stop", None)
    assert json.loads(choice.message.content) == {"final_answer": "x = -3"}


@pytest.mark.parametrize(
    ("path", "type_", "code"),
    [
        ("anthropic/error_not_found.json", "invalid_request_error", "not_found"),
        ("anthropic/error_rate_limit.json", "rate_limit_error", "rate_limit_exceeded"),
        ("anthropic/error_overloaded.json", "api_error", "overloaded"),
    ],
)
def test_errors_keep_status_and_get_openai_shape(path, type_, code):
    doc = fixture(path)
    status, body = ADAPTER.chat_response(doc["status"], json.dumps(doc["body"]).encode(), "m")
    assert status == doc["status"]
    error = json.loads(body)["error"]
    assert (error["type"], error["code"], error["param"]) == (type_, code, None)
    assert error["message"].startswith(doc["body"]["error"]["message"])


def test_empty_credit_balance_is_quota():
    message = "Your credit balance is too low to access the Anthropic API."
    error = {"type": "invalid_request_error", "message": message}
    body = json.dumps({"type": "error", "error": error}).encode()
    status, out = ADAPTER.chat_response(400, body, "m")
    assert status == 400
    assert json.loads(out)["error"]["code"] == "insufficient_quota"


def test_unreadable_answers():
    status, body = ADAPTER.chat_response(502, b"<html>Bad Gateway</html>", "m")
    assert status == 502 and json.loads(body)["error"]["type"] == "api_error"
    status, body = ADAPTER.chat_response(200, b'{"id": 1}', "m")
    assert status == 502 and json.loads(body)["error"]["code"] == "upstream_bad_response"
