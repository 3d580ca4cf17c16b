"""Wire-format checks of the mock OpenAI provider, driven by the official openai SDK.

The mock runs on its own event loop in a background thread; every wait is on a future or a
socket read, never a sleep, and nothing asserts on timing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httptools
import openai
import pytest
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from gateway.durations import go_duration
from gateway.mock.server import MockConfig, MockKey, start_mock_server, stop_mock_server

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None  # type: ignore[assignment]

KEY_A = "sk-mock-aaaaaaaaaaaaaaaaaaaa-1111"
KEY_B = "sk-mock-bbbbbbbbbbbbbbbbbbbb-2222"
REPO = Path(__file__).resolve().parents[2]


class MockThread:
    """The mock on a private loop in a daemon thread (uvloop when available, like production)."""

    def __init__(self, cfg: MockConfig) -> None:
        self.loop = uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        fut = asyncio.run_coroutine_threadsafe(start_mock_server(cfg), self.loop)
        self.server, self.port = fut.result(timeout=10)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def client(self, key: str = KEY_A) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base_url, api_key=key, max_retries=0, timeout=10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(stop_mock_server(self.server), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def start_mock() -> Iterator[Callable[..., MockThread]]:
    started: list[MockThread] = []

    def start(**overrides: object) -> MockThread:
        cfg = MockConfig(keys=[MockKey(KEY_A, id="a"), MockKey(KEY_B)], **overrides)  # type: ignore[arg-type]
        started.append(MockThread(cfg))
        return started[-1]

    yield start
    for m in started:
        m.close()


@pytest.fixture
def mock(start_mock: Callable[..., MockThread]) -> MockThread:
    return start_mock()


USER = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello mock world"}]


# --------------------------------------------------------------------------- raw HTTP helpers


def _read_response(f) -> tuple[int, dict[str, str], bytes]:  # type: ignore[no-untyped-def]
    """Read one HTTP/1.1 response (Content-Length or chunked) from a buffered socket file."""
    status = int(f.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := f.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while (size := int(f.readline().strip(), 16)) != 0:
            body += f.read(size)
            f.readline()
        f.readline()
        return status, headers, body
    return status, headers, f.read(int(headers["content-length"]))


def _request(method: str, path: str, body: bytes = b"", key: str | None = KEY_A) -> bytes:
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: mock\r\n{auth}Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _exchange(m: MockThread, payload: bytes, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    with socket.create_connection(("127.0.0.1", m.port), timeout=10) as s, s.makefile("rb") as f:
        s.sendall(payload)
        return [_read_response(f) for _ in range(count)]


def _counts(stats: bytes) -> tuple[dict[str, int], int]:
    doc = json.loads(stats)
    return doc["requests_by_key"], doc["total"]


def _sse_payloads(body: bytes) -> list[str]:
    events = body.decode().split("\n\n")
    assert events[-1] == ""
    assert all(e.startswith("data: ") for e in events[:-1])
    return [e[len("data: ") :] for e in events[:-1]]


# --------------------------------------------------------------------------- chat completions


def test_chat_completion_validates_and_echoes(mock: MockThread) -> None:
    with mock.client() as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER)
        completion = raw.parse()
        payload = raw.http_response.json()

    ChatCompletion.model_validate(payload)  # strict pydantic validation of the exact wire JSON
    assert payload["object"] == "chat.completion"
    assert payload["model"] == "gpt-4o-mini"
    assert payload["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Mock reply: hello mock world",
        "refusal": None,
        "annotations": [],
    }
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 5)
    assert completion.usage.total_tokens == 10
    assert raw.headers["content-type"] == "application/json"
    assert raw.request_id is not None and raw.request_id.startswith("req_")
    assert raw.headers["openai-processing-ms"].isdigit()
    assert "x-ratelimit-limit-requests" not in raw.headers  # unlimited keys advertise no limits


def test_chat_content_parts_max_tokens_and_n(mock: MockThread) -> None:
    parts = [{"type": "text", "text": "one two"}, {"type": "image_url", "image_url": {"url": "x"}}]
    with mock.client() as client:
        c = client.chat.completions.create(
            model="any-model",
            messages=[{"role": "user", "content": parts}],
            max_completion_tokens=3,
            n=2,
        )
    assert c.model == "any-model"
    assert [ch.index for ch in c.choices] == [0, 1]
    assert {ch.message.content for ch in c.choices} == {"Mock reply: one"}
    assert {ch.finish_reason for ch in c.choices} == {"length"}
    assert c.usage is not None and c.usage.completion_tokens == 6  # 3 words x 2 choices


def test_stream_reassembles_with_usage_chunk(mock: MockThread) -> None:
    with mock.client() as client:
        expected = client.chat.completions.create(model="gpt-4o-mini", messages=USER)
        with client.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=USER, stream=True, stream_options={"include_usage": True}
        ) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            assert resp.headers["transfer-encoding"] == "chunked"
            lines = [line for line in resp.iter_lines() if line]
        # The SDK's own stream decoder must agree too.
        sdk_text = "".join(
            chunk.choices[0].delta.content or ""
            for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
            if chunk.choices
        )

    assert lines[-1] == "data: [DONE]"
    raws = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    chunks = [ChatCompletionChunk.model_validate(r) for r in raws]
    assert all(r["object"] == "chat.completion.chunk" for r in raws)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    assert all("usage" in r and r["usage"] is None for r in raws[:-1])  # OpenAI sends usage: null
    final, finish = chunks[-1], chunks[-2]
    assert final.choices == [] and final.usage is not None
    assert finish.choices[0].finish_reason == "stop" and raws[-2]["choices"][0]["delta"] == {}
    text = "".join(c.choices[0].delta.content or "" for c in chunks[:-1])
    assert text == sdk_text == expected.choices[0].message.content
    assert expected.usage is not None
    assert final.usage.model_dump() == expected.usage.model_dump()


def test_stream_without_include_usage_has_no_usage_key(mock: MockThread) -> None:
    body = json.dumps({"model": "m", "messages": USER, "stream": True}).encode()
    [(status, headers, raw)] = _exchange(mock, _request("POST", "/v1/chat/completions", body), 1)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    payloads = _sse_payloads(raw)
    assert payloads[-1] == "[DONE]"
    assert all("usage" not in json.loads(p) for p in payloads[:-1])


def test_stream_chunks_option_paced(start_mock: Callable[..., MockThread]) -> None:
    m = start_mock(stream_chunks=7, chunk_interval_ms=1)
    with m.client() as client:
        chunks = list(
            client.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": "x"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    content = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) == 7
    assert "".join(content) == "Mock reply: x Mock reply: x Mock"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 7


# --------------------------------------------------------------------------- embeddings & models


def test_embeddings_float_and_base64_agree(mock: MockThread) -> None:
    texts = ["the quick brown fox", "jumps"]
    with mock.client() as client:
        floats_raw = client.embeddings.with_raw_response.create(
            model="text-embedding-3-small", input=texts, encoding_format="float"
        )
        floats = floats_raw.parse()
        default = client.embeddings.create(model="text-embedding-3-small", input=texts)  # SDK asks base64
        raw = client.embeddings.with_raw_response.create(
            model="text-embedding-3-small", input="jumps", dimensions=16, encoding_format="base64"
        )
        again = client.embeddings.create(model="e", input="jumps", dimensions=16, encoding_format="float")

    CreateEmbeddingResponse.model_validate(floats_raw.http_response.json())
    payload = raw.http_response.json()  # base64 wire form: the SDK model types it as list[float]
    assert floats.object == "list" and floats.model == "text-embedding-3-small"
    assert [d.index for d in floats.data] == [0, 1]
    assert all(len(d.embedding) == 8 for d in floats.data)  # default dimensions
    assert [d.embedding for d in default.data] == [d.embedding for d in floats.data]
    assert floats.data[0].embedding != floats.data[1].embedding
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == 5
    b64 = payload["data"][0]["embedding"]
    assert isinstance(b64, str)
    decoded = list(memoryview(base64.b64decode(b64)).cast("f"))  # float32 little-endian
    assert len(decoded) == 16 and decoded == again.data[0].embedding
    assert abs(sum(v * v for v in decoded) - 1.0) < 1e-5  # unit length like OpenAI's


def test_models_list(mock: MockThread) -> None:
    with mock.client() as client:
        models = list(client.models.list())
    assert [m.id for m in models] == ["gpt-4o-mini", "text-embedding-3-small"]
    assert all(m.object == "model" and m.owned_by == "system" for m in models)


# --------------------------------------------------------------------------- errors


def test_bad_key_is_invalid_api_key(mock: MockThread) -> None:
    with (
        mock.client("sk-not-a-configured-key-9999") as client,
        pytest.raises(openai.AuthenticationError) as ei,
    ):
        client.models.list()
    err = ei.value
    assert err.status_code == 401 and err.code == "invalid_api_key" and err.type == "invalid_request_error"
    assert err.body["message"].startswith("Incorrect API key provided: sk-not-a")  # type: ignore[index]
    assert "9999" in err.body["message"] and "configured" not in err.body["message"]  # type: ignore[index]


def test_missing_key_is_401_with_openai_body(mock: MockThread) -> None:
    [(status, _, body)] = _exchange(mock, _request("GET", "/v1/models", key=None), 1)
    assert status == 401
    error = json.loads(body)["error"]
    assert error["message"].startswith("You didn't provide an API key.")
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, None)


def test_rpm_limit_gives_rate_limit_error(start_mock: Callable[..., MockThread]) -> None:
    m = start_mock(rpm=2)
    msgs = [{"role": "user", "content": "hi"}]
    with m.client() as client:
        ok = [
            client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=msgs) for _ in "12"
        ]
        with pytest.raises(openai.RateLimitError) as ei:
            client.chat.completions.create(model="gpt-4o-mini", messages=msgs)
    with m.client(KEY_B) as client:  # limits are per key
        client.chat.completions.create(model="gpt-4o-mini", messages=msgs)

    assert [r.headers["x-ratelimit-limit-requests"] for r in ok] == ["2", "2"]
    assert [r.headers["x-ratelimit-remaining-requests"] for r in ok] == ["1", "0"]
    assert all(r.headers["x-ratelimit-reset-requests"].endswith("s") for r in ok)
    err = ei.value
    assert err.status_code == 429 and err.code == "rate_limit_exceeded" and err.type == "requests"
    assert err.response.headers["retry-after"].isdigit() and int(err.response.headers["retry-after"]) >= 1
    assert err.response.headers["x-ratelimit-remaining-requests"] == "0"
    message = err.body["message"]  # type: ignore[index]
    assert message.startswith(
        "Rate limit reached for gpt-4o-mini in organization org-mock on requests per min (RPM): "
        "Limit 2, Used 2, Requested 1. Please try again in "
    )
    assert message.endswith("Visit https://platform.openai.com/account/rate-limits to learn more.")
    # /_mock/stats tells tests what each key admitted, when it could take its next request then,
    # and when it refused: a continuous limiter of 2 a minute refills one request every 30 s.
    [(_, _, body)] = _exchange(m, _request("GET", "/_mock/stats", key=None), 1)
    stats = json.loads(body)
    assert stats["limiter"] == "continuous"
    [(first, free_1), (second, free_2)] = stats["keys"]["a"]["admitted"]
    [refused] = stats["keys"]["a"]["refused"]
    assert first <= second < refused <= time.monotonic()
    assert free_1 == pytest.approx(first, abs=1e-6)  # one was left after the first
    assert free_2 == pytest.approx(first + 30, abs=0.01)  # the second took the last one


def test_tpm_limit_gives_tokens_error(start_mock: Callable[..., MockThread]) -> None:
    m = start_mock(tpm=12)
    with m.client() as client:
        ok = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "a b c"}]
        )  # 3 prompt + 5 completion = 8 tokens
        with pytest.raises(openai.RateLimitError) as ei:
            client.chat.completions.create(  # 2 prompt + 4 completion = 6 more tokens
                model="gpt-4o-mini", messages=[{"role": "user", "content": "a b"}]
            )
    assert ok.headers["x-ratelimit-limit-tokens"] == "12"
    assert ok.headers["x-ratelimit-remaining-tokens"] == "4"
    assert ei.value.type == "tokens" and ei.value.code == "rate_limit_exceeded"
    assert "on tokens per min (TPM): Limit 12, Used 8, Requested 6." in ei.value.message


def test_malformed_json_is_bad_request(mock: MockThread) -> None:
    with mock.client() as client, pytest.raises(openai.BadRequestError) as ei:
        client.post(
            "/chat/completions",
            cast_to=ChatCompletion,
            content=b'{"model": "gpt-4o-mini", "messages": [',
            options={"headers": {"Content-Type": "application/json"}},
        )
    assert ei.value.status_code == 400 and ei.value.type == "invalid_request_error"
    assert ei.value.code is None and ei.value.param is None
    assert ei.value.body["message"].startswith(  # type: ignore[index]
        "We could not parse the JSON body of your request. (HINT: This likely means"
    )


def test_schema_errors_and_unknown_routes(mock: MockThread) -> None:
    payload = (
        _request("POST", "/v1/chat/completions", b'{"messages": []}')
        + _request("POST", "/v1/nope", b"{}")
        + _request("GET", "/v1/chat/completions")
        + _request("POST", "/v1/embeddings", b'{"model": "e", "input": "x", "dimensions": "8"}')
    )
    (s1, _, b1), (s2, _, b2), (s3, h3, b3), (s4, _, b4) = _exchange(mock, payload, 4)
    assert (s1, json.loads(b1)["error"]["code"]) == (400, "missing_required_parameter")
    assert json.loads(b1)["error"]["param"] == "model"
    assert (s2, json.loads(b2)["error"]["message"]) == (404, "Invalid URL (POST /v1/nope)")
    assert s3 == 405 and h3["allow"] == "POST" and json.loads(b3)["error"]["type"] == "invalid_request_error"
    assert (s4, json.loads(b4)["error"]["param"]) == (400, "dimensions")
    too_many = json.dumps({"model": "m", "messages": USER, "n": 129}).encode()
    [(s5, _, b5)] = _exchange(mock, _request("POST", "/v1/chat/completions", too_many), 1)
    assert (s5, json.loads(b5)["error"]["code"]) == (400, "integer_above_max_value")


def test_open_mode_accepts_any_bearer_key() -> None:
    m = MockThread(MockConfig())  # no keys configured
    try:
        with m.client("sk-whatever-7777") as client:
            client.models.list()
        missing, stats = _exchange(
            m, _request("GET", "/v1/models", key=None) + _request("GET", "/_mock/stats", key=None), 2
        )
        assert missing[0] == 401  # a key is still required, as with OpenAI
        assert _counts(stats[2]) == ({"7777": 1}, 2)
    finally:
        m.close()


# --------------------------------------------------------------------------- HTTP/1.1 behaviour


def test_pipelined_keepalive_and_chunked_request(mock: MockThread) -> None:
    chat = json.dumps({"model": "m", "messages": [{"role": "user", "content": "pipelined"}]}).encode()
    chunked_body = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (5, chat[:5], len(chat) - 5, chat[5:])
    chunked = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer {KEY_B}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode() + chunked_body
    payload = _request("POST", "/v1/chat/completions", chat) + _request("GET", "/v1/models") + chunked
    responses = _exchange(mock, payload, 3)
    assert [r[0] for r in responses] == [200, 200, 200]
    assert all(r[1]["connection"] == "keep-alive" for r in responses)
    assert json.loads(responses[0][2])["choices"][0]["message"]["content"] == "Mock reply: pipelined"
    assert json.loads(responses[1][2])["object"] == "list"
    assert json.loads(responses[2][2])["choices"][0]["message"]["content"] == "Mock reply: pipelined"


def test_pipelining_keeps_order_behind_async_answers(start_mock: Callable[..., MockThread]) -> None:
    m = start_mock(latency_ms=1, chunk_interval_ms=1, stream_chunks=3)
    stream = json.dumps({"model": "m", "messages": USER, "stream": True}).encode()
    chat = json.dumps({"model": "m", "messages": USER}).encode()
    payload = (
        _request("POST", "/v1/chat/completions", stream)
        + _request("GET", "/v1/models")
        + _request("POST", "/v1/chat/completions", chat)
    )
    (s1, h1, b1), (s2, _, b2), (s3, _, b3) = _exchange(m, payload, 3)
    assert (s1, s2, s3) == (200, 200, 200)
    assert h1["content-type"].startswith("text/event-stream")
    assert _sse_payloads(b1)[-1] == "[DONE]"
    assert json.loads(b2)["object"] == "list"
    assert json.loads(b3)["object"] == "chat.completion"


def test_connection_close_is_honoured(mock: MockThread) -> None:
    req = b"GET /v1/models HTTP/1.1\r\nHost: mock\r\nConnection: close\r\nAuthorization: Bearer %s\r\n\r\n"
    with socket.create_connection(("127.0.0.1", mock.port), timeout=10) as s, s.makefile("rb") as f:
        s.sendall(req % KEY_A.encode())
        status, headers, _ = _read_response(f)
        assert f.read() == b""  # server closed after answering
    assert status == 200 and headers["connection"] == "close"


def test_stream_response_parses_with_httptools(mock: MockThread) -> None:
    # An independent HTTP parser must accept the chunked SSE framing byte for byte.
    body = json.dumps({"model": "m", "messages": USER, "stream": True}).encode()
    got: dict[str, object] = {"body": b"", "done": False}

    class Sink:
        def on_body(self, chunk: bytes) -> None:
            got["body"] += chunk  # type: ignore[operator]

        def on_message_complete(self) -> None:
            got["done"] = True

    parser = httptools.HttpResponseParser(Sink())
    with socket.create_connection(("127.0.0.1", mock.port), timeout=10) as s:
        s.sendall(_request("POST", "/v1/chat/completions", body))
        while not got["done"]:
            data = s.recv(65536)
            assert data
            parser.feed_data(data)
    assert parser.get_status_code() == 200
    assert _sse_payloads(got["body"])[-1] == "[DONE]"  # type: ignore[arg-type]


# --------------------------------------------------------------------------- control surface & CLI


def test_stats_count_per_key_and_reset(mock: MockThread) -> None:
    with mock.client() as a, mock.client(KEY_B) as b, mock.client("sk-unknown-key-000000") as bad:
        a.models.list()
        a.chat.completions.create(model="m", messages=USER)
        b.embeddings.create(model="e", input="x")
        with pytest.raises(openai.AuthenticationError):
            bad.models.list()
    [(status, _, body)] = _exchange(mock, _request("GET", "/_mock/stats", key=None), 1)
    assert status == 200
    # Keys are labelled by their id, else their last 4 characters; unknown keys only count in total.
    assert _counts(body) == ({"a": 2, "2222": 1}, 4)
    [(status, _, _), (_, _, body)] = _exchange(
        mock, _request("POST", "/_mock/reset", key=None) + _request("GET", "/_mock/stats", key=None), 2
    )
    assert status == 200
    assert _counts(body) == ({"a": 0, "2222": 0}, 0)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_prints_one_line_and_exits_cleanly(sig: signal.Signals) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "gateway.mock", "--port", "0", "--key", "cli=sk-cli-key", "--model", "m1"]
    with subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True) as proc:
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 15)
            assert ready, "mock did not report its address"
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line.startswith("mock listening on http://127.0.0.1:")
            url = line.split()[-1]
            with openai.OpenAI(base_url=url + "/v1", api_key="sk-cli-key", max_retries=0) as client:
                assert [m.id for m in client.models.list()] == ["m1"]
            proc.send_signal(sig)
            assert proc.wait(timeout=15) == 0
            assert proc.stdout.read() == ""  # type: ignore[union-attr]
        finally:
            if proc.poll() is None:
                proc.kill()


def test_go_duration_format() -> None:
    assert [go_duration(s) for s in (0, 0.25, 1, 20, 59.948, 360, 3723.5)] == [
        "0s",
        "250ms",
        "1s",
        "20s",
        "59.948s",
        "6m0s",
        "1h2m3.5s",
    ]


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_offered_tools_are_called_plain_and_streamed_in_openais_format(mock: MockThread) -> None:
    with mock.client() as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=USER, tools=[WEATHER]
        )
        payload = raw.http_response.json()
        ChatCompletion.model_validate(payload)
        choice = payload["choices"][0]
        assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
        call = choice["message"]["tool_calls"][0]
        assert call["function"] == {"name": "get_weather", "arguments": '{"city":"mock"}'}

        stream = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=USER,
            tools=[WEATHER],
            stream=True,
            stream_options={"include_usage": True},
        )
        payloads = _sse_payloads(stream.http_response.read())
    chunks = [ChatCompletionChunk.model_validate(json.loads(p)) for p in payloads if p != "[DONE]"]
    deltas = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or []]
    assert deltas[0].function.name == "get_weather" and deltas[0].id
    assert "".join(d.function.arguments or "" for d in deltas) == '{"city":"mock"}'
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].usage is not None


def test_a_tool_result_turn_gets_a_plain_answer(mock: MockThread) -> None:
    messages = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]  # fmt: skip
    with mock.client() as client:
        done = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER])
    assert (
        done.choices[0].finish_reason == "stop" and done.choices[0].message.content == "Mock reply: weather?"
    )
