"""The native front (`server.engine: native`) speaking HTTP/1.1 to raw sockets: keep-alive,
pipelining in order, chunked bodies, `Expect: 100-continue`, HTTP/1.0, the smuggling shapes
refused, refusals in the caller's API format, and a drain on SIGTERM that lets a stream finish.

The rest of the suite runs on this engine too with AIGW_TEST_ENGINE=native (`make test-native`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections.abc import Iterator

import pytest

from .conftest import Gateway, serving_demo, until

MODELS = """
  - name: slow
    type: mock
    keys: [{id: slow-1, value: sk-slow-1}]
    mock: {stream_chunks: 40, chunk_interval_ms: 50}
model_groups:
  - name: gpt-4o-mini
    deployments: [{provider: mock}]
  - name: slow-stream
    deployments: [{provider: slow}]
tenants:
  - name: default
    apps: [{name: demo, models: ["*"]}]
"""
CHAT = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}]}).encode()
TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def gw(tmp_path_factory) -> Iterator[Gateway]:
    gateway = Gateway(
        tmp_path_factory.mktemp("front"), MODELS, workers=1, server_yaml="engine: native", capture_log=True
    )
    yield from serving_demo(gateway)


@pytest.fixture(scope="module")
def key(gw: Gateway) -> str:
    return gw.keys["demo"]


def connect(gw: Gateway) -> socket.socket:
    return socket.create_connection(("127.0.0.1", gw.port), timeout=TIMEOUT_S)


def request(
    key: str, *lines: str, body: bytes = CHAT, path: str = "/v1/chat/completions", version: str = "1.1"
) -> bytes:
    fields = [f"POST {path} HTTP/{version}", "Host: aigw", f"Authorization: Bearer {key}", *lines]
    return ("\r\n".join(fields) + "\r\n\r\n").encode() + body


class Reader:
    """Reads HTTP/1.1 answers off a socket one at a time (content-length or chunked framing)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            assert self._fill(), f"the connection closed before {marker!r}: {self.buf!r}"
        part, self.buf = self.buf.split(marker, 1)
        return part

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            assert self._fill(), f"the connection closed {n - len(self.buf)} bytes short"
        part, self.buf = self.buf[:n], self.buf[n:]
        return part

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        head = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            assert name.lower() not in headers, f"{name} twice in {head}"
            headers[name.lower()] = value.strip()
        if status < 200:
            body = b""
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int(self._until(b"\r\n"), 16):
                body += self._take(size)
                assert self._take(2) == b"\r\n"
            assert self._take(2) == b"\r\n"
        elif "content-length" in headers:
            body = self._take(int(headers["content-length"]))
        else:  # HTTP/1.0: the body ends with the connection
            while self._fill():
                pass
            body, self.buf = self.buf, b""
        return status, headers, body

    def closed(self) -> bool:
        """The server closed the connection, having sent nothing more."""
        return not self.buf and not self._fill()


def error_code(body: bytes) -> str:
    code: str = json.loads(body)["error"]["code"]
    return code


def test_two_requests_on_one_kept_alive_connection(gw, key):
    with connect(gw) as sock:
        reader = Reader(sock)
        for _ in range(2):
            sock.sendall(request(key, f"Content-Length: {len(CHAT)}"))
            status, headers, body = reader.answer()
            assert status == 200, body
            assert "connection" not in headers
            assert json.loads(body)["object"] == "chat.completion"


def test_pipelined_requests_are_answered_in_order(gw, key):
    models = f"GET /v1/models HTTP/1.1\r\nHost: aigw\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
    with connect(gw) as sock:
        sock.sendall(
            request(key, f"Content-Length: {len(CHAT)}")
            + models
            + request(key, f"Content-Length: {len(CHAT)}")
        )
        reader = Reader(sock)
        kinds = [json.loads(reader.answer()[2])["object"] for _ in range(3)]
    assert kinds == ["chat.completion", "list", "chat.completion"]


def test_a_chunked_body_is_read_whole(gw, key):
    chunks = [CHAT[:10], CHAT[10:30], CHAT[30:]]
    body = b"".join(b"%x\r\n%b\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    with connect(gw) as sock:
        sock.sendall(request(key, "Transfer-Encoding: chunked", body=body))
        status, _, answer = Reader(sock).answer()
    assert status == 200, answer
    assert json.loads(answer)["object"] == "chat.completion"


def test_expect_100_continue_is_answered_before_the_body_is_sent(gw, key):
    with connect(gw) as sock:
        sock.sendall(request(key, f"Content-Length: {len(CHAT)}", "Expect: 100-continue", body=b""))
        reader = Reader(sock)
        assert reader.answer()[0] == 100
        sock.sendall(CHAT)
        status, _, body = reader.answer()
    assert status == 200, body


def test_an_http_1_0_request_is_answered_and_closed(gw, key):
    with connect(gw) as sock:
        sock.sendall(request(key, f"Content-Length: {len(CHAT)}", version="1.0"))
        reader = Reader(sock)
        status, headers, body = reader.answer()
        assert status == 200, body
        assert headers.get("connection") == "close"
        assert reader.closed()


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(
            [f"Content-Length: {len(CHAT)}", "Transfer-Encoding: chunked"], id="content-length-and-chunked"
        ),
        pytest.param(
            [f"Content-Length: {len(CHAT)}", f"Content-Length: {len(CHAT)}"], id="two-content-lengths"
        ),
        pytest.param([f"Content-Length: {len(CHAT)}", "Transfer-Encoding: gzip"], id="unknown-coding"),
    ],
)
def test_request_smuggling_shapes_are_refused_and_the_connection_closed(gw, key, lines):
    with connect(gw) as sock:
        # A second request hidden behind the first must never be answered.
        sock.sendall(request(key, *lines) + request(key, f"Content-Length: {len(CHAT)}"))
        reader = Reader(sock)
        status, headers, body = reader.answer()
        assert status in (400, 501), body
        assert headers.get("connection") == "close"
        assert error_code(body)
        assert reader.closed()


def test_a_request_without_host_is_refused(gw, key):
    head = f"POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {key}\r\n"
    head += f"Content-Length: {len(CHAT)}\r\n\r\n"
    with connect(gw) as sock:
        sock.sendall(head.encode() + CHAT)
        status, _, body = Reader(sock).answer()
    assert status == 400 and error_code(body) == "invalid_host", body


def test_a_head_too_large_is_refused_in_the_callers_format(gw, key):
    with connect(gw) as sock:
        sock.sendall(
            request(key, "X-Padding: " + "a" * 70_000, "Content-Length: 2", path="/v1/messages", body=b"{}")
        )
        status, _, body = Reader(sock).answer()
    assert status == 431, body
    answer = json.loads(body)
    assert answer["type"] == "error" and answer["error"]["type"] == "invalid_request_error", answer


def test_a_refusal_is_readable_while_the_client_still_sends(gw, key):
    # The head goes over the limit long before its end. A server that closed with the rest
    # unread would have the kernel reset the connection, which destroys the unread 431 in the
    # client's socket; it must read and drop the rest instead.
    raw = request(key, "X-Padding: " + "a" * 4_000_000, "Content-Length: 2", body=b"{}")
    with connect(gw) as sock:
        sending = threading.Thread(target=sock.sendall, args=(raw,), daemon=True)
        sending.start()
        status, _, body = Reader(sock).answer()
        sending.join(TIMEOUT_S)
    assert status == 431 and error_code(body) == "request_header_too_large", body


def test_a_stream_in_flight_finishes_when_the_node_is_told_to_stop(tmp_path):
    gw = Gateway(tmp_path, MODELS, workers=1, server_yaml="engine: native")
    key = gw.new_key()
    gw.start()
    body = json.dumps(
        {"model": "slow-stream", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    )
    with connect(gw) as sock:
        sock.sendall(request(key, f"Content-Length: {len(body)}", body=body.encode()))
        reader = Reader(sock)
        head = reader._until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), head
        assert gw.proc is not None
        gw.proc.send_signal(signal.SIGTERM)  # 40 chunks 50 ms apart are still to come
        reader.buf = head + b"\r\n\r\n" + reader.buf
        status, _, stream = reader.answer()
        assert status == 200
        assert reader.closed()  # draining: no next request on it
    events = [line for line in stream.split(b"\n") if line.startswith(b"data: ")]
    assert events[-1] == b"data: [DONE]"
    assert len(events) > 40
    assert gw.stop() == 0


def test_the_fronts_own_lines_follow_the_nodes_log_format(tmp_path):
    # The process that starts the front's workers logs a worker's death: in JSON when the node
    # logs JSON, so a log pipeline parses every line.
    node = Gateway(
        tmp_path,
        MODELS + "logging: {format: json}\n",
        workers=1,
        server_yaml="engine: native",
        capture_log=True,
    )
    key = node.new_key()
    node.start()
    try:
        with connect(node) as sock:
            sock.sendall(request(key, f"Content-Length: {len(CHAT)}"))
            status, headers, _ = Reader(sock).answer()
        assert status == 200
        os.kill(int(headers["x-request-id"].split("_")[1], 16), signal.SIGKILL)  # req_<pid in hex>_<n>
        until(lambda: "starting another" in node.log_text(), "the front to replace its worker")
    finally:
        assert node.stop() == 0
    messages = [json.loads(line)["message"] for line in node.log_text().splitlines()]
    assert any("starting another" in message for message in messages)
