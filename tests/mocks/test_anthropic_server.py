"""The mock Anthropic upstream: what it emits validates against the anthropic SDK's types, the
official SDK drives it, and aigw's adapter round-trips through it (translation + real HTTP)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime

import anthropic
import httpx
import pydantic
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from anthropic.types.shared import ErrorResponse

from gateway.mock.limits import RateLimits
from gateway.providers import adapter_for
from tests.mocks.anthropic_server import create_app
from tests.mocks.common import ServerThread
from tests.providers.helpers import (
    assemble,
    chat_request,
    completion,
    openai_stream,
    sse_events,
    validate_anthropic_request,
)

KEY = "sk-ant-mock-key"
LIMITED = "sk-ant-limited"
EVENTS = pydantic.TypeAdapter(RawMessageStreamEvent)
WEATHER = {
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location", "unit"],
    },
}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    thread = ServerThread(create_app([KEY, LIMITED], [LIMITED]))
    yield thread
    thread.close()


@pytest.fixture
def client(server: ServerThread) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.url, api_key=KEY, max_retries=0, timeout=10) as c:
        yield c


def post(server: ServerThread, body: dict, key: str = KEY) -> httpx.Response:
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    return httpx.post(f"{server.url}/v1/messages", json=body, headers=headers, timeout=10)


def test_sdk_gets_an_echo(client: anthropic.Anthropic):
    message = client.messages.create(
        model="claude-sonnet-5", max_tokens=100, messages=[{"role": "user", "content": "Hello there"}]
    )
    assert isinstance(message, Message)
    assert message.content[0].type == "text" and message.content[0].text == "Hello there"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0


def test_wire_json_and_headers_validate(server: ServerThread):
    resp = post(server, {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "a b c"}]})
    assert resp.status_code == 200
    Message.model_validate(resp.json())
    assert resp.headers["request-id"].startswith("req_")
    assert int(resp.headers["anthropic-ratelimit-requests-remaining"]) >= 0
    assert "anthropic-ratelimit-tokens-reset" in resp.headers


def test_stop_sequence_and_max_tokens(server: ServerThread):
    body = {
        "model": "m",
        "max_tokens": 50,
        "stop_sequences": ["STOP"],
        "messages": [{"role": "user", "content": "one STOP two"}],
    }
    msg = Message.model_validate(post(server, body).json())
    assert (msg.content[0].text, msg.stop_reason, msg.stop_sequence) == ("one ", "stop_sequence", "STOP")
    body = {"model": "m", "max_tokens": 2, "messages": [{"role": "user", "content": "one two three"}]}
    msg = Message.model_validate(post(server, body).json())
    assert (msg.content[0].text, msg.stop_reason) == ("one two", "max_tokens")


def test_sdk_stream_with_tool_use(client: anthropic.Anthropic, server: ServerThread):
    with client.messages.stream(
        model="claude-sonnet-5",
        max_tokens=100,
        tools=[WEATHER],
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    ) as stream:
        final = stream.get_final_message()
    tool = next(b for b in final.content if b.type == "tool_use")
    assert tool.name == "get_weather"
    assert tool.input == {"location": "mock", "unit": "celsius"}
    assert final.stop_reason == "tool_use"
    raw = post(
        server,
        {
            "model": "m",
            "max_tokens": 9,
            "stream": True,
            "tools": [WEATHER],
            "messages": [{"role": "user", "content": "x"}],
        },
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    names = []
    for name, data in sse_events(raw.content):
        event = EVENTS.validate_python(json.loads(data)) if name != "ping" else None
        assert event is None or event.type == name
        names.append(name)
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]


@pytest.mark.parametrize(
    ("status", "exc"),
    [(429, anthropic.RateLimitError), (529, anthropic.APIStatusError), (400, anthropic.BadRequestError)],
)
def test_error_directive(client: anthropic.Anthropic, server: ServerThread, status, exc):
    with pytest.raises(exc) as info:
        client.messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": f"mock:error={status}"}]
        )
    assert info.value.status_code == status
    resp = post(
        server,
        {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": f"mock:error={status}"}]},
    )
    ErrorResponse.model_validate(resp.json())


def test_keys_rate_limits_and_headers(server: ServerThread):
    resp = post(
        server, {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, key=LIMITED
    )
    assert resp.status_code == 429 and resp.headers["retry-after"] == "7"
    assert ErrorResponse.model_validate(resp.json()).error.type == "rate_limit_error"
    assert post(server, {"model": "m", "max_tokens": 5, "messages": []}, key="wrong").status_code == 401
    missing = httpx.post(f"{server.url}/v1/messages", json={}, headers={"x-api-key": KEY}, timeout=10)
    assert missing.status_code == 400 and "anthropic-version" in missing.json()["error"]["message"]
    assert post(server, {"model": "m", "messages": [{"role": "user", "content": "x"}]}).status_code == 400


def test_module_entry_prints_where_it_listens():
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.mocks.anthropic_server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("mock listening on http://127.0.0.1:")
        url = line.removeprefix("mock listening on ")
        resp = httpx.post(
            f"{url}/v1/messages",
            json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
            headers={"x-api-key": "any", "anthropic-version": "2023-06-01"},
            timeout=10,
        )
        assert resp.json()["content"][0]["text"] == "hi"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


# --------------------------------------------------------------------------- adapter round trip


ADAPTER = adapter_for("anthropic")


def send(server: ServerThread, request_path: str, **changes: object) -> httpx.Response:
    call = ADAPTER.chat_call(chat_request(request_path, **changes), "claude-sonnet-5", server.url)
    validate_anthropic_request(call.body)
    headers = {**call.headers, **ADAPTER.auth_headers(KEY)}
    return httpx.post(server.url + call.path, content=call.body, headers=headers, timeout=10)


def test_round_trip_tool_call(server: ServerThread):
    resp = send(server, "openai/request_tools.json", tool_choice="required")
    status, body = ADAPTER.chat_response(resp.status_code, resp.content, "claude")
    choice = completion(body).choices[0]
    assert status == 200 and choice.finish_reason == "tool_calls"
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"location": "mock"}


def test_round_trip_json_mode(server: ServerThread):
    resp = send(server, "openai/request_json_schema.json")
    _, body = ADAPTER.chat_response(resp.status_code, resp.content, "claude")
    choice = completion(body).choices[0]
    assert choice.finish_reason == "stop"
    assert json.loads(choice.message.content) == {"steps": [], "final_answer": "mock"}


def test_round_trip_stream(server: ServerThread):
    translator = ADAPTER.chat_stream("claude", include_usage=True)
    out = b""
    call = ADAPTER.chat_call(
        chat_request("openai/request_tools.json", stream=True), "claude-sonnet-5", server.url
    )
    headers = {**call.headers, **ADAPTER.auth_headers(KEY)}
    with httpx.stream("POST", server.url + call.path, content=call.body, headers=headers, timeout=10) as resp:
        for piece in resp.iter_raw(7):
            out += translator.feed(piece)
    out += translator.close()
    chunks, done, error = openai_stream(out)
    result = assemble(chunks)
    assert done and error is None
    assert result["text"] == "I'll call get_current_weather."
    assert json.loads(result["tool_calls"][0]["arguments"]) == {"location": "mock"}
    assert result["finish"] == "tool_calls" and result["usage"]["completion_tokens"] > 0


def test_round_trip_truncated_stream_and_error(server: ServerThread):
    messages = [{"role": "user", "content": "mock:truncate please"}]
    call = ADAPTER.chat_call(
        chat_request("openai/request_default.json", messages=messages, stream=True), "c", server.url
    )
    resp = httpx.post(
        server.url + call.path, content=call.body, headers={**call.headers, "x-api-key": KEY}, timeout=10
    )
    translator = ADAPTER.chat_stream("c", True)
    _, done, error = openai_stream(translator.feed(resp.content) + translator.close())
    assert not done and error["code"] == "upstream_stream_truncated"
    resp = send(
        server, "openai/request_default.json", messages=[{"role": "user", "content": "mock:error=429"}]
    )
    status, body = ADAPTER.chat_response(resp.status_code, resp.content, "c")
    assert status == 429 and json.loads(body)["error"]["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize("limiter", ["continuous", "fixed_window"])
def test_rate_limits_answer_as_anthropic_documents_them(limiter):
    # 2 requests a minute: a continuous bucket refills one every 30 s and is full 60 s after use;
    # a fixed window opens 60 s after the first request and refills both at once.
    thread = ServerThread(create_app([KEY], limits=RateLimits(2, 0, 60.0, limiter)))
    try:
        with anthropic.Anthropic(base_url=thread.url, api_key=KEY, max_retries=0) as c:
            ask = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
            started = time.time()
            answers = [c.messages.with_raw_response.create(**ask) for _ in range(2)]
            with pytest.raises(anthropic.RateLimitError) as info:
                c.messages.create(**ask)
    finally:
        thread.close()
    assert [a.headers["anthropic-ratelimit-requests-remaining"] for a in answers] == ["1", "0"]
    assert all(a.headers["anthropic-ratelimit-requests-limit"] == "2" for a in answers)
    full = datetime.fromisoformat(answers[1].headers["anthropic-ratelimit-requests-reset"]).timestamp()
    assert started + 59 <= full <= time.time() + 61  # fully replenished a minute on, to the second
    refused = info.value.response
    assert info.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    # Whole seconds until a retry can succeed: the next of the bucket's refills, or the window's end.
    retry_after = int(refused.headers["retry-after"])
    assert 29 <= retry_after <= 31 if limiter == "continuous" else 59 <= retry_after <= 61
    assert refused.headers["anthropic-ratelimit-requests-remaining"] == "0"
