"""Gemini adapter golden tests: OpenAI requests from OpenAI's docs become generateContent requests
the google-genai types accept; Gemini's documented answers and errors come back as OpenAI JSON."""

from __future__ import annotations

import base64
import json
import struct

import pytest
from google.genai import types
from openai.types import CreateEmbeddingResponse

from gateway.errors import GatewayError
from gateway.providers import adapter_for
from gateway.providers.canonical import EMBEDDINGS_REQUEST_DECODER
from gateway.providers.gemini_api import signature_of, with_signature
from gateway.providers.gemini_schema import gemini_schema

from .helpers import body_of, chat_request, completion, fixture, validate_gemini_request

ADAPTER = adapter_for("gemini")
BASE = "https://generativelanguage.googleapis.com"


def build(path: str, **changes: object) -> dict:
    call = ADAPTER.chat_call(chat_request(path, **changes), "gemini-2.5-flash", BASE)
    method = "streamGenerateContent?alt=sse" if changes.get("stream") else "generateContent"
    assert call.path == f"/v1beta/models/gemini-2.5-flash:{method}"
    return validate_gemini_request(call.body)


def test_default_request():
    assert build("openai/request_default.json") == {
        "contents": [{"role": "user", "parts": [{"text": "Hello!"}]}],
        "systemInstruction": {"parts": [{"text": "You are a helpful assistant."}]},
    }


def test_images_become_file_data_and_inline_data():
    body = build("openai/request_image.json")
    text, url, inline = body["contents"][0]["parts"]
    assert text == {"text": "What's in this image?"}
    assert url["fileData"] == {
        "fileUri": "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg",
        "mimeType": "image/jpeg",
    }
    assert inline["inlineData"]["mimeType"] == "image/jpeg"
    assert inline["inlineData"]["data"].startswith("/9j/")
    assert body["generationConfig"] == {"maxOutputTokens": 300}


def test_tool_round_trip_and_generation_config():
    body = build("openai/request_tools.json", stream=True, n=2, presence_penalty=0.5)
    _user, model, results = body["contents"]
    assert model == {
        "role": "model",
        "parts": [{"functionCall": {"name": "get_current_weather", "args": {"location": "Boston, MA"}}}],
    }
    assert results["role"] == "user"
    response, follow_up = results["parts"]
    assert response["functionResponse"] == {
        "name": "get_current_weather",
        "response": {"temperature": 22, "unit": "celsius", "description": "Sunny"},
    }
    assert follow_up == {"text": "And tomorrow?"}
    declaration = body["tools"][0]["functionDeclarations"][0]
    assert declaration["name"] == "get_current_weather"
    assert declaration["parameters"]["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}
    assert body["generationConfig"] == {
        "stopSequences": ["\n\nHuman:"],
        "temperature": 0.2,
        "topP": 0.9,
        "candidateCount": 2,
        "seed": 42,
        "presencePenalty": 0.5,
    }


def test_plain_text_tool_result_goes_under_output():
    messages = fixture("openai/request_tools.json")["body"]["messages"][:3]
    messages[2] = {**messages[2], "content": "22 degrees and sunny"}
    body = build("openai/request_tools.json", messages=messages)
    assert body["contents"][2]["parts"][0]["functionResponse"]["response"] == {
        "output": "22 degrees and sunny"
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("required", {"mode": "ANY"}),
        ("none", {"mode": "NONE"}),
        (
            {"type": "function", "function": {"name": "get_current_weather"}},
            {"mode": "ANY", "allowedFunctionNames": ["get_current_weather"]},
        ),
    ],
)
def test_tool_choice(choice, expected):
    assert (
        build("openai/request_tools.json", tool_choice=choice)["toolConfig"]["functionCallingConfig"]
        == expected
    )


def test_json_schema_becomes_response_schema_in_gemini_subset():
    body = build("openai/request_json_schema.json")
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseSchema"]
    types.Schema.model_validate(schema)
    assert "additionalProperties" not in json.dumps(schema)
    assert schema["propertyOrdering"] == ["steps", "final_answer"]
    assert schema["properties"]["steps"]["items"]["required"] == ["explanation", "output"]


def test_schema_rewriting():
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "when": {"type": ["string", "null"], "format": "date-time"},
            "email": {"type": "string", "format": "email"},
            "kind": {"const": "event"},
            "where": {"$ref": "#/$defs/place"},
            "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "maybe": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        },
        "required": ["when", "ghost"],
        "additionalProperties": False,
        "$defs": {"place": {"type": "object", "properties": {"city": {"type": "string"}}}},
    }
    out = gemini_schema(schema, "p")
    types.Schema.model_validate(out)
    props = out["properties"]
    assert props["when"] == {"type": "string", "format": "date-time", "nullable": True}
    assert props["email"] == {"type": "string"}
    assert props["kind"] == {"enum": ["event"]}
    assert props["where"] == {"type": "object", "properties": {"city": {"type": "string"}}}
    assert props["either"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert props["maybe"] == {"type": "number", "nullable": True}
    assert out["required"] == ["when"]
    with pytest.raises(GatewayError, match="recursive"):
        gemini_schema(
            {"$defs": {"n": {"properties": {"next": {"$ref": "#/$defs/n"}}}}, "$ref": "#/$defs/n"}, "p"
        )


def test_paths_auth_and_options():
    request = chat_request("openai/request_default.json")
    assert (
        ADAPTER.chat_call(request, "m", "https://proxy.example/v1beta/").path == "/models/m:generateContent"
    )
    v1 = adapter_for("gemini", {"api_version": "v1"})
    assert v1.chat_call(request, "m", BASE).path == "/v1/models/m:generateContent"
    assert ADAPTER.auth_headers("AIza-x") == {"x-goog-api-key": "AIza-x"}
    with pytest.raises(ValueError, match="version"):
        adapter_for("gemini", {"version": "v1"})


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"logprobs": True}, "logprobs"),
        (
            {"messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]},
            "messages[0].tool_call_id",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}]},
            "messages[0].content[0]",
        ),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0]"),
    ],
)
def test_what_gemini_cannot_express_is_a_400(changes, param):
    with pytest.raises(GatewayError) as info:
        ADAPTER.chat_call(chat_request("openai/request_default.json", **changes), "m", BASE)
    assert (info.value.status, info.value.param) == (400, param)


def test_thought_signature_round_trips_through_the_tool_call_id():
    tool_id = with_signature("CqIBAY89a1+/x7Q=")
    assert tool_id.replace("_", "").replace("-", "").isalnum()  # safe for any provider's id rules
    assert signature_of(tool_id) == "CqIBAY89a1+/x7Q="
    messages = [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": tool_id, "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": tool_id, "content": "sunny"},
    ]
    body = build("openai/request_default.json", messages=messages)
    call_part = body["contents"][1]["parts"][0]
    assert call_part["thoughtSignature"] == "CqIBAY89a1+/x7Q="
    assert body["contents"][2]["parts"][0]["functionResponse"]["name"] == "get_weather"


# --------------------------------------------------------------------------- responses


def test_function_call_answer():
    raw = body_of("gemini/response_function_call.json")
    types.GenerateContentResponse.model_validate_json(raw)
    status, body = ADAPTER.chat_response(200, raw, "gem")
    choice = completion(body).choices[0]
    assert status == 200 and choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "find_theaters"
    assert json.loads(call.function.arguments) == {"movie": "Barbie", "location": "Mountain View, CA"}
    assert call.id.startswith("call_")


def test_candidates_usage_and_thoughts():
    raw = body_of("gemini/response_text_usage.json")
    types.GenerateContentResponse.model_validate_json(raw)
    done = completion(ADAPTER.chat_response(200, raw, "gem")[1])
    assert done.id == "chatcmpl-mAitaLmkHPPlz7IPvtfUqQ4"
    first, second = done.choices
    assert first.message.content == "The sky is blue because of Rayleigh scattering."  # thought part left out
    assert (first.finish_reason, second.finish_reason, second.index) == ("stop", "length", 1)
    usage = done.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (4200, 124, 4324)
    assert usage.prompt_tokens_details.cached_tokens == 4096
    assert usage.completion_tokens_details.reasoning_tokens == 100


def test_blocked_prompt_is_a_content_filter_400():
    raw = json.dumps(
        {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 8}}
    ).encode()
    status, body = ADAPTER.chat_response(200, raw, "gem")
    error = json.loads(body)["error"]
    assert status == 400 and error["code"] == "content_filter" and "SAFETY" in error["message"]


@pytest.mark.parametrize(
    ("path", "status", "type_", "code"),
    [
        ("gemini/error_rate_limit.json", 429, "rate_limit_error", "rate_limit_exceeded"),
        ("gemini/error_daily_quota.json", 429, "insufficient_quota", "insufficient_quota"),
        ("gemini/error_api_key.json", 401, "authentication_error", "invalid_api_key"),
        ("gemini/error_not_found.json", 404, "invalid_request_error", "not_found"),
    ],
)
def test_google_errors(path, status, type_, code):
    doc = fixture(path)
    out_status, body = ADAPTER.chat_response(doc["status"], json.dumps(doc["body"]).encode(), "gem")
    error = json.loads(body)["error"]
    assert (out_status, error["type"], error["code"]) == (status, type_, code)
    assert error["message"].startswith(doc["body"]["error"]["message"])


def test_unreadable_answer():
    assert ADAPTER.chat_response(200, b"[", "gem")[0] == 502


# --------------------------------------------------------------------------- embeddings


def test_embeddings_batch_call_and_answer():
    request = EMBEDDINGS_REQUEST_DECODER.decode(b'{"model": "embed", "input": ["a", "b"], "dimensions": 3}')
    call = ADAPTER.embeddings_call(request, "text-embedding-004", BASE)
    assert call.path == "/v1beta/models/text-embedding-004:batchEmbedContents"
    sent = json.loads(call.body)
    assert sent["requests"][0] == {
        "model": "models/text-embedding-004",
        "content": {"parts": [{"text": "a"}]},
        "outputDimensionality": 3,
    }
    for item in sent["requests"]:
        types.EmbedContentConfig(output_dimensionality=item["outputDimensionality"])
        types.Content.model_validate(item["content"])
    status, body = ADAPTER.embeddings_response(200, body_of("gemini/embeddings.json"), "embed")
    answer = CreateEmbeddingResponse.model_validate_json(body)
    assert status == 200 and answer.data[1].embedding == [0.0157, 0.0262, -0.0405]
    _, body = ADAPTER.embeddings_response(
        200, body_of("gemini/embeddings.json"), "embed", encoding_format="base64"
    )
    packed = base64.b64decode(json.loads(body)["data"][0]["embedding"])
    assert struct.unpack("<3f", packed) == pytest.approx((0.0071, -0.0146, 0.0372))


def test_token_array_embeddings_are_a_400():
    request = EMBEDDINGS_REQUEST_DECODER.decode(b'{"model": "embed", "input": [[1, 2, 3]]}')
    with pytest.raises(GatewayError, match="text only"):
        ADAPTER.embeddings_call(request, "text-embedding-004", BASE)
