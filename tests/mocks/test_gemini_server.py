"""The mock Gemini upstream: what it emits validates against google-genai's types, the official
SDK drives it, and aigw's adapter round-trips through it (translation + real HTTP)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from gateway.mock.limits import RateLimits
from gateway.providers import adapter_for
from gateway.providers.canonical import EMBEDDINGS_REQUEST_DECODER
from gateway.providers.gemini_api import signature_of
from tests.mocks.common import STATE, ServerThread
from tests.mocks.gemini_server import create_app
from tests.providers.helpers import (
    assemble,
    chat_request,
    completion,
    openai_stream,
    sse_events,
    validate_gemini_request,
)

KEY = "AIza-mock-key"
LIMITED = "AIza-limited"
WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Get the current weather in a given location",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={"location": types.Schema(type=types.Type.STRING)},
        required=["location"],
    ),
)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    thread = ServerThread(create_app([KEY, LIMITED], [LIMITED]))
    yield thread
    thread.close()


@pytest.fixture
def client(server: ServerThread) -> genai.Client:
    return genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=server.url))


def post(server: ServerThread, path: str, body: dict, key: str = KEY) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=body, headers={"x-goog-api-key": key}, timeout=10)


def test_sdk_generate_content(client: genai.Client):
    response = client.models.generate_content(model="gemini-2.5-flash", contents="Hello there")
    assert response.text == "Hello there"
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.usage_metadata.prompt_token_count > 0


def test_sdk_stream_and_function_call(client: genai.Client):
    pieces = [
        c.text
        for c in client.models.generate_content_stream(model="gemini-2.5-flash", contents="one two three")
    ]
    assert "".join(pieces) == "one two three" and len(pieces) == 3
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER])])
    response = client.models.generate_content(
        model="gemini-3-pro-preview", contents="Weather?", config=config
    )
    (call,) = response.function_calls
    assert (call.name, call.args) == ("get_weather", {"location": "mock"})
    assert response.candidates[0].content.parts[0].thought_signature


def test_sdk_json_schema_candidates_and_limits(client: genai.Client):
    schema = types.Schema(
        type=types.Type.OBJECT, properties={"a": types.Schema(type=types.Type.STRING)}, required=["a"]
    )
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=schema, candidate_count=2
    )
    response = client.models.generate_content(model="gemini-2.5-flash", contents="json", config=config)
    assert [json.loads(c.content.parts[0].text) for c in response.candidates] == [
        {"a": "mock"},
        {"a": "mock"},
    ]
    config = types.GenerateContentConfig(max_output_tokens=2, stop_sequences=["STOP"])
    response = client.models.generate_content(
        model="gemini-2.5-flash", contents="one two three", config=config
    )
    assert (
        response.text == "one two" and response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    )


def test_sdk_embeddings(client: genai.Client):
    result = client.models.embed_content(model="text-embedding-004", contents=["a", "b"])
    assert len(result.embeddings) == 2 and len(result.embeddings[0].values) == 8


def test_sdk_errors(client: genai.Client):
    with pytest.raises(genai_errors.ClientError) as info:
        client.models.generate_content(model="gemini-2.5-flash", contents="mock:error=429")
    assert info.value.code == 429 and info.value.status == "RESOURCE_EXHAUSTED"
    with pytest.raises(genai_errors.ServerError) as server_info:
        client.models.generate_content(model="gemini-2.5-flash", contents="mock:error=503")
    assert server_info.value.code == 503


def test_wire_payloads_validate(server: ServerThread):
    body = {
        "contents": [{"role": "user", "parts": [{"text": "a b"}]}],
        "generationConfig": {"candidateCount": 2},
    }
    resp = post(server, "/v1beta/models/gemini-2.5-flash:generateContent", body)
    assert len(types.GenerateContentResponse.model_validate(resp.json()).candidates) == 2
    resp = post(server, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body)
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = [
        types.GenerateContentResponse.model_validate_json(data)
        for _, data in sse_events(resp.content.replace(b"\r\n", b"\n"))
    ]
    assert events[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert len(post(server, "/v1beta/models/gemini-2.5-flash:streamGenerateContent", body).json()) == len(
        events
    )


def test_keys(server: ServerThread):
    body = {"contents": [{"parts": [{"text": "x"}]}]}
    resp = post(server, "/v1beta/models/m:generateContent", body, key="wrong")
    assert resp.status_code == 400 and resp.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    assert post(server, "/v1beta/models/m:generateContent", body, key=LIMITED).status_code == 429
    assert (
        httpx.post(f"{server.url}/v1beta/models/m:generateContent", json=body, timeout=10).status_code == 403
    )
    assert (
        httpx.post(
            f"{server.url}/v1beta/models/m:generateContent?key={KEY}", json=body, timeout=10
        ).status_code
        == 200
    )


def test_module_entry_prints_where_it_listens():
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.mocks.gemini_server", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().removeprefix("mock listening on ")
        assert url.startswith("http://127.0.0.1:")
        resp = httpx.post(
            f"{url}/v1beta/models/m:generateContent?key=any",
            json={"contents": [{"parts": [{"text": "hi"}]}]},
            timeout=10,
        )
        assert resp.json()["candidates"][0]["content"]["parts"][0]["text"] == "hi"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


# --------------------------------------------------------------------------- adapter round trip

ADAPTER = adapter_for("gemini")


def send(server: ServerThread, path: str, **changes: object) -> httpx.Response:
    call = ADAPTER.chat_call(chat_request(path, **changes), "gemini-3-pro-preview", server.url)
    validate_gemini_request(call.body)
    return httpx.post(
        server.url + call.path,
        content=call.body,
        headers={**call.headers, **ADAPTER.auth_headers(KEY)},
        timeout=10,
    )


def test_round_trip_tool_call_and_signature_back(server: ServerThread):
    resp = send(server, "openai/request_tools.json", tool_choice="required")
    choice = completion(ADAPTER.chat_response(resp.status_code, resp.content, "gem")[1]).choices[0]
    (call,) = choice.message.tool_calls
    assert choice.finish_reason == "tool_calls" and json.loads(call.function.arguments) == {
        "location": "mock"
    }
    assert signature_of(call.id)
    follow_up = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "tool_calls": [call.model_dump(exclude_none=True)]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    assert send(server, "openai/request_default.json", messages=follow_up).status_code == 200
    received = server.runner.app[STATE].requests[-1]  # the mock keeps what it was sent
    model_turn = received["contents"][1]["parts"][0]
    assert model_turn["thoughtSignature"] == signature_of(call.id)
    assert received["contents"][2]["parts"][0]["functionResponse"] == {
        "name": "get_current_weather",
        "response": {"output": "sunny"},
    }


def test_round_trip_json_schema_and_n(server: ServerThread):
    resp = send(server, "openai/request_json_schema.json", n=2)
    done = completion(ADAPTER.chat_response(resp.status_code, resp.content, "gem")[1])
    assert [json.loads(c.message.content) for c in done.choices] == [
        {"steps": [], "final_answer": "mock"}
    ] * 2


def test_round_trip_stream(server: ServerThread):
    call = ADAPTER.chat_call(
        chat_request("openai/request_tools.json", stream=True), "gemini-3-pro-preview", server.url
    )
    translator = ADAPTER.chat_stream("gem", include_usage=True)
    out = b""
    with httpx.stream(
        "POST",
        server.url + call.path,
        content=call.body,
        headers={**call.headers, "x-goog-api-key": KEY},
        timeout=10,
    ) as resp:
        for piece in resp.iter_raw(5):
            out += translator.feed(piece)
    out += translator.close()
    chunks, done, error = openai_stream(out)
    result = assemble(chunks)
    assert done and error is None
    assert result["tool_calls"][0]["name"] == "get_current_weather" and result["finish"] == "tool_calls"
    assert result["usage"]["total_tokens"] > 0


def test_round_trip_truncated_stream_and_errors(server: ServerThread):
    messages = [{"role": "user", "content": "mock:truncate now please"}]
    call = ADAPTER.chat_call(
        chat_request("openai/request_default.json", messages=messages, stream=True), "g", server.url
    )
    resp = httpx.post(
        server.url + call.path, content=call.body, headers={**call.headers, "x-goog-api-key": KEY}, timeout=10
    )
    translator = ADAPTER.chat_stream("g", True)
    _, done, error = openai_stream(translator.feed(resp.content) + translator.close())
    assert not done and error["code"] == "upstream_stream_truncated"
    resp = send(
        server, "openai/request_default.json", messages=[{"role": "user", "content": "mock:error=429"}]
    )
    status, body = ADAPTER.chat_response(resp.status_code, resp.content, "g")
    assert status == 429 and json.loads(body)["error"]["type"] == "rate_limit_error"


def test_round_trip_embeddings(server: ServerThread):
    request = EMBEDDINGS_REQUEST_DECODER.decode(b'{"model": "e", "input": ["a", "b"], "dimensions": 4}')
    call = ADAPTER.embeddings_call(request, "text-embedding-004", server.url)
    resp = httpx.post(
        server.url + call.path, content=call.body, headers={**call.headers, "x-goog-api-key": KEY}, timeout=10
    )
    status, body = ADAPTER.embeddings_response(resp.status_code, resp.content, "e")
    assert status == 200 and [len(d["embedding"]) for d in json.loads(body)["data"]] == [4, 4]


@pytest.mark.parametrize("limiter", ["continuous", "fixed_window"])
def test_rate_limits_answer_as_gemini_documents_them(limiter):
    thread = ServerThread(create_app([KEY], limits=RateLimits(2, 0, 60.0, limiter)))
    try:
        client = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=thread.url))
        for _ in range(2):
            client.models.generate_content(model="gemini-2.5-flash", contents="hi")
        with pytest.raises(genai_errors.ClientError) as info:
            client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    finally:
        thread.close()
    assert info.value.code == 429 and info.value.status == "RESOURCE_EXHAUSTED"
    details = {d["@type"].rsplit(".", 1)[1]: d for d in info.value.details["error"]["details"]}
    [violation] = details["QuotaFailure"]["violations"]
    assert violation["quotaId"] == "GenerateRequestsPerMinutePerProjectPerModel"
    assert violation["quotaValue"] == "2"
    # Whole seconds, rounded up, until the request would fit.
    delay = int(details["RetryInfo"]["retryDelay"].removesuffix("s"))
    assert 29 <= delay <= 30 if limiter == "continuous" else 59 <= delay <= 60
