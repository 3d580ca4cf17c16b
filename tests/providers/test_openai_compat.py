"""OpenAI-compatible adapter: the caller's bytes pass through (model replaced), streams are relayed
event by event with usage read on the way, and cut-off streams end with an error event."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types import CreateEmbeddingResponse

from gateway.providers import adapter_for
from gateway.providers.canonical import EMBEDDINGS_REQUEST_DECODER, ChatRequest, decode_chat, usage_of
from gateway.providers.canonical import ENCODER as CANONICAL

from .helpers import (
    assemble,
    body_of,
    chat_request,
    completion,
    fixture,
    openai_stream,
    run,
    split_at,
    stream_fixture,
)

ADAPTER = adapter_for("openai")
TEXT = stream_fixture("openai/stream_text.sse")
TOOL = stream_fixture("openai/stream_tool_call.sse")


def test_same_model_forwards_the_callers_bytes_untouched():
    raw = (
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "vendor_extra": {"top_k": 5}}'
    )
    call = ADAPTER.chat_call(decode_chat(raw), "gpt-4o", "https://api.openai.com/v1")
    assert (call.path, call.headers, call.body) == (
        "/chat/completions",
        {"content-type": "application/json"},
        raw,
    )
    assert ADAPTER.auth_headers("sk-x") == {"authorization": "Bearer sk-x"}


def test_newer_openai_shapes_decode_and_pass_through():
    raw = json.dumps(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": [{"type": "video_url", "video_url": {"url": "https://v"}}]}
            ],
            "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}},
        }
    ).encode()
    assert ADAPTER.chat_call(decode_chat(raw), "m", "").body == raw


def test_other_model_is_replaced_and_extensions_survive():
    raw = body_of("openai/request_tools.json")[:-1] + b', "guided_json": {"type": "object"}}'
    call = ADAPTER.chat_call(decode_chat(raw), "meta-llama/Llama-3.1-8B", "http://vllm:8000/v1")
    sent = json.loads(call.body)
    assert sent["model"] == "meta-llama/Llama-3.1-8B"
    assert sent["guided_json"] == {"type": "object"}
    assert sent["messages"] == json.loads(raw)["messages"]


def test_streams_ask_for_usage_unless_disabled():
    request = chat_request("openai/request_default.json", stream=True)
    sent = json.loads(ADAPTER.chat_call(request, "gpt-4o", "").body)
    assert sent["stream_options"] == {"include_usage": True}
    plain = adapter_for("openai", {"stream_usage": False})
    assert "stream_options" not in json.loads(plain.chat_call(request, "gpt-4o", "").body)


def test_requests_built_by_an_ingress_are_encoded_from_the_struct():
    request = ChatRequest(
        model="public", messages=chat_request("openai/request_default.json").messages, stream=True
    )
    sent = json.loads(ADAPTER.chat_call(request, "gpt-4o-mini", "").body)
    assert sent == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "developer", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hello!"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_answers_are_relayed():
    body = body_of("openai/response_tools.json")
    assert ADAPTER.chat_response(200, body, "public") == (200, body)
    assert completion(body).choices[0].message.tool_calls[0].function.name == "get_current_weather"
    err = fixture("openai/error_rate_limit.json")
    raw = json.dumps(err["body"]).encode()
    assert ADAPTER.chat_response(429, raw, "public") == (429, raw)
    assert usage_of(body).prompt_tokens_details.cached_tokens == 1920


def test_stream_relay_reads_usage_and_keeps_events():
    translator = ADAPTER.chat_stream("public", include_usage=True)
    chunks, done, error = openai_stream(run(translator, [TEXT]))
    assert done and error is None
    assert assemble(chunks)["text"] == "Hello there"
    assert translator.usage is not None and translator.usage.total_tokens == 11
    assert chunks[-1].usage is not None


def test_usage_chunk_aigw_asked_for_is_dropped_for_the_caller():
    translator = ADAPTER.chat_stream("public", include_usage=False)
    chunks, done, _ = openai_stream(run(translator, [TOOL]))
    assert done and all(c.usage is None for c in chunks)
    assert translator.usage is not None and translator.usage.completion_tokens == 17
    assert assemble(chunks)["tool_calls"] == [
        {
            "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
            "name": "get_weather",
            "arguments": '{"location":"Paris, France"}',
        }
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(TOOL)), max_size=10))
def test_any_splits_give_the_same_output(cuts):
    expected = run(ADAPTER.chat_stream("p", True), [TOOL])
    assert run(ADAPTER.chat_stream("p", True), split_at(TOOL, *cuts)) == expected


def test_truncated_stream_ends_with_an_error_event():
    cut = TOOL[: TOOL.index(b'"finish_reason":"tool_calls"')]
    for end in range(0, len(cut), 97):
        _chunks, done, error = openai_stream(run(ADAPTER.chat_stream("p", True), [TOOL[:end]]))
        assert not done and error["code"] == "upstream_stream_truncated"


def test_finished_stream_without_done_gets_one():
    data = TOOL[: TOOL.index(b"data: [DONE]")]
    _, done, error = openai_stream(run(ADAPTER.chat_stream("p", True), [data]))
    assert done and error is None


def test_upstream_error_event_is_relayed_and_ends_the_stream():
    data = (
        TEXT[: TEXT.index(b"data: {", 300)]
        + b'data: {"error": {"message": "boom", "type": "server_error", "param": null, "code": null}}\n\n'
    )
    _chunks, done, error = openai_stream(run(ADAPTER.chat_stream("p", True), [data, b"data: [DONE]\n\n"]))
    assert not done and error["message"] == "boom"


def test_embeddings_pass_through():
    request = EMBEDDINGS_REQUEST_DECODER.decode(b'{"model": "embed", "input": ["a", "b"], "dimensions": 8}')
    call = ADAPTER.embeddings_call(request, "text-embedding-3-small", "")
    assert call.path == "/embeddings"
    assert json.loads(call.body) == {"model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 8}
    answer = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }
    status, body = ADAPTER.embeddings_response(200, CANONICAL.encode(answer), "embed")
    assert status == 200 and CreateEmbeddingResponse.model_validate_json(body).data[0].embedding == [0.1, 0.2]
