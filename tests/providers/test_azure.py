"""Azure OpenAI adapter: deployment URLs, api-version, api-key, Azure's answers and error bodies."""

from __future__ import annotations

import json

import pytest
from openai.types.chat import ChatCompletion

from gateway.ingress.anthropic_stream import MessagesStream
from gateway.providers import adapter_for
from gateway.providers.canonical import EMBEDDINGS_REQUEST_DECODER

from .helpers import body_of, chat_request, fixture, run, sse_events, stream_fixture, validate_openai_request

ADAPTER = adapter_for("azure")
BASE = "https://my-resource.openai.azure.com"


def test_deployment_url_api_version_and_key():
    call = ADAPTER.chat_call(chat_request("openai/request_tools.json"), "gpt-4o-prod", BASE)
    assert call.path == "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
    assert ADAPTER.auth_headers("azure-key") == {"api-key": "azure-key"}
    body = validate_openai_request(call.body)
    assert body["tools"][0]["function"]["name"] == "get_current_weather"


def test_options():
    custom = adapter_for("azure", {"api_version": "2025-01-01-preview", "deployment": "shared"})
    call = custom.chat_call(chat_request("openai/request_default.json", stream=True), "gpt-4o", BASE)
    assert call.path == "/openai/deployments/shared/chat/completions?api-version=2025-01-01-preview"
    assert json.loads(call.body)["stream_options"] == {"include_usage": True}
    named = ADAPTER.chat_call(
        chat_request("openai/request_default.json"), "x", f"{BASE}/openai/deployments/d1"
    )
    assert named.path == "/chat/completions?api-version=2024-10-21"
    with pytest.raises(ValueError, match="api_versions"):
        adapter_for("azure", {"api_versions": "x"})


def test_embeddings_url():
    request = EMBEDDINGS_REQUEST_DECODER.decode(b'{"model": "e", "input": "hello"}')
    call = ADAPTER.embeddings_call(request, "embed-small", BASE)
    assert call.path == "/openai/deployments/embed-small/embeddings?api-version=2024-10-21"
    assert json.loads(call.body) == {"model": "embed-small", "input": "hello"}


def test_answers_pass_through():
    raw = body_of("azure/response_chat.json")
    status, body = ADAPTER.chat_response(200, raw, "gpt")
    assert (status, body) == (200, raw)
    assert ChatCompletion.model_validate_json(body).choices[0].message.content.startswith("Yes")


@pytest.mark.parametrize(
    ("path", "type_", "code", "param"),
    [
        ("azure/error_rate_limit.json", "rate_limit_error", "rate_limit_exceeded", None),
        ("azure/error_content_filter.json", "invalid_request_error", "content_filter", "prompt"),
    ],
)
def test_errors_get_type_and_code(path, type_, code, param):
    doc = fixture(path)
    status, body = ADAPTER.chat_response(doc["status"], json.dumps(doc["body"]).encode(), "gpt")
    error = json.loads(body)["error"]
    assert status == doc["status"]
    assert (error["type"], error["code"], error["param"]) == (type_, code, param)
    assert error["message"] == doc["body"]["error"]["message"]


def test_stream_with_prompt_filter_chunk():
    data = stream_fixture("azure/stream.sse")
    translator = ADAPTER.chat_stream("gpt", include_usage=False)
    out = run(translator, [data])
    events = [payload for _, payload in sse_events(out)]
    assert events[-1] == "[DONE]"
    assert not any('"usage"' in e for e in events)  # the usage chunk aigw asked for is dropped
    assert translator.usage is not None and translator.usage.total_tokens == 9
    # The Anthropic ingress reads Azure's chunks too (the empty-choices first one included).
    assert b'"text":"Hello"' in run(MessagesStream("claude"), [data])
