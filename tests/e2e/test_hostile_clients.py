"""Clients that are slow, idle, oversized or gone: each is cut off within the bound `server:` sets
while a normal request on another connection is served, and each leaves the record of what
happened — never an ERROR log line for a caller's doing.

Bounds are short here so the tests are quick; a cut-off is asserted within its bound plus a
generous slack (a loaded machine), never at an exact time.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from .conftest import Gateway, serving_demo, until

LIMITS = """
header_timeout_s: 1
idle_timeout_s: 1
keepalive_timeout_s: 1
body_timeout_s: 3
min_body_rate: 100
body_rate_grace_s: 1
max_header_bytes: 16384
max_requests_per_connection: 3
"""
# A second mock whose streams last 8 s, for a caller that leaves in the middle of one.
MODELS = """
  - name: slow
    type: mock
    keys: [{id: slow-1, value: sk-slow-1}]
    mock: {stream_chunks: 400, chunk_interval_ms: 20}
model_groups:
  - name: gpt-4o-mini
    deployments: [{provider: mock}]
  - name: slow-stream
    deployments: [{provider: slow}]
tenants:
  - name: default
    apps: [{name: demo, models: ["*"]}]
"""
SLACK_S = 10.0
CHAT = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}]}).encode()


@pytest.fixture(scope="module")
def gw(tmp_path_factory) -> Iterator[Gateway]:
    # One worker: the normal request is served by the worker the hostile client is holding.
    gateway = Gateway(
        tmp_path_factory.mktemp("hostile"), MODELS, workers=1, server_yaml=LIMITS, capture_log=True
    )
    yield from serving_demo(gateway)


@pytest.fixture(scope="module")
def key(gw: Gateway) -> str:
    return gw.keys["demo"]


def connect(gw: Gateway) -> socket.socket:
    return socket.create_connection(("127.0.0.1", gw.port), timeout=SLACK_S)


def head(key: str, *lines: str) -> bytes:
    fields = ["POST /v1/chat/completions HTTP/1.1", "Host: aigw", f"Authorization: Bearer {key}", *lines]
    return ("\r\n".join(fields) + "\r\n\r\n").encode()


def served_meanwhile(gw: Gateway, key: str) -> None:
    """A normal request on a connection of its own is answered."""
    response = httpx.post(
        gw.base_url + "/v1/chat/completions",
        content=CHAT,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=SLACK_S,
    )
    assert response.status_code == 200, response.text


def trickle(sock: socket.socket, data: bytes, interval_s: float = 1.0) -> None:
    """Send `data` a byte per `interval_s` until the server answers or closes the connection."""
    for byte in data:
        try:
            sock.send(bytes([byte]))
        except OSError:
            return  # closed by the server
        if select.select([sock], [], [], interval_s)[0]:
            return


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else 0


def error_code(raw: bytes) -> str:
    code: str = json.loads(raw.split(b"\r\n\r\n", 1)[1])["error"]["code"]
    return code


def cut_off_within(started: float, bound_s: float) -> None:
    elapsed = time.monotonic() - started
    assert elapsed < bound_s + SLACK_S, f"cut off after {elapsed:.1f}s; the bound is {bound_s}s"


def test_a_body_sent_a_byte_a_second_is_cut_off(gw, key):
    sock = connect(gw)
    started = time.monotonic()
    sock.sendall(head(key, f"Content-Length: {len(CHAT)}", "Content-Type: application/json"))
    sock.send(CHAT[:1])
    served_meanwhile(gw, key)
    trickle(sock, CHAT[1:])
    raw = answer(sock)
    # 1 s of grace, then 100 bytes/s: the body's length at that rate, and 3 s at most.
    cut_off_within(started, min(3, 1 + len(CHAT) / 100))
    assert status_of(raw) == 408 and error_code(raw) == "request_timeout", raw


@pytest.mark.parametrize(
    "framing, body",
    [
        ("Content-Length: 1000", CHAT),  # a Content-Length longer than the body
        ("Transfer-Encoding: chunked", b"ff\r\n" + CHAT),  # a chunk size that lies: 255 announced
    ],
    ids=["content-length-longer-than-the-body", "chunk-size-that-lies"],
)
def test_a_body_that_stops_short_of_its_framing_is_cut_off(gw, key, framing, body):
    sock = connect(gw)
    started = time.monotonic()
    sock.sendall(head(key, framing) + body)
    served_meanwhile(gw, key)
    raw = answer(sock)
    cut_off_within(started, 3)
    assert status_of(raw) == 408 and error_code(raw) == "request_timeout", raw


def test_an_idle_connection_is_closed(gw, key):
    sock = connect(gw)
    started = time.monotonic()
    served_meanwhile(gw, key)
    assert answer(sock) == b""
    cut_off_within(started, 1)


def test_headers_sent_a_byte_a_second_are_cut_off(gw, key):
    sock = connect(gw)
    started = time.monotonic()
    sock.send(b"P")
    served_meanwhile(gw, key)
    trickle(sock, head(key, "Content-Length: 2")[1:] + b"{}")
    try:
        raw = answer(sock)
    except ConnectionResetError:
        raw = b""
    cut_off_within(started, 1)
    assert status_of(raw) != 200, raw


def test_a_kept_alive_connection_left_idle_is_closed(gw, key):
    sock = connect(gw)
    sock.sendall(head(key, f"Content-Length: {len(CHAT)}") + CHAT)
    first = sock.recv(65536)
    assert status_of(first) == 200, first
    started = time.monotonic()
    served_meanwhile(gw, key)
    answer(sock)
    cut_off_within(started, 1)


def test_a_connection_is_closed_after_its_last_allowed_request(gw, key):
    with httpx.Client(base_url=gw.base_url, headers={"Authorization": f"Bearer {key}"}) as client:
        answers = [client.post("/v1/chat/completions", content=CHAT) for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    # The third answer on a connection says it closes; the fourth request needed a new one.
    assert [a.headers.get("connection") for a in answers] == [None, None, "close", None]


def test_a_100_kb_header_is_refused_431(gw, key):
    response = httpx.post(
        gw.base_url + "/v1/chat/completions",
        content=CHAT,
        headers={"Authorization": f"Bearer {key}", "X-Padding": "a" * 100_000},
    )
    assert response.status_code == 431
    served_meanwhile(gw, key)


def calls(gw: Gateway, **filters: str) -> list[dict]:
    page: list[dict] = gw.admin("GET", "/admin/calls", params=filters).json()["calls"]
    return page


def test_a_disconnect_mid_body_is_a_499_record(gw, key):
    sock = connect(gw)
    sock.sendall(head(key, "Content-Length: 1000") + CHAT[:20])
    sock.close()
    record = until(lambda: calls(gw, status="499"), "a 499 record")[0]
    assert record["error_code"] == "client_closed_request"
    served_meanwhile(gw, key)  # the worker carries on; the module's teardown checks its log


def test_a_truncated_chunked_body_is_a_framing_error(gw, key):
    sock = connect(gw)
    sock.sendall(head(key, "Transfer-Encoding: chunked") + b"%x\r\n" % 1000 + CHAT)
    sock.shutdown(socket.SHUT_WR)  # the body ends here, short of its chunk
    raw = answer(sock)
    assert status_of(raw) == 400 and error_code(raw) == "invalid_body_framing", raw
    rid = raw.split(b"x-request-id: ", 1)[1].split(b"\r\n", 1)[0].decode()
    record = until(lambda: calls(gw, request_id=rid), "its record")[0]
    assert (record["status"], record["error_code"]) == (400, "invalid_body_framing")


def test_a_disconnect_mid_stream_is_a_499_record(gw, key):
    body = json.loads(CHAT) | {"stream": True, "model": "slow-stream"}
    headers = {"Authorization": f"Bearer {key}"}
    with (
        httpx.Client(base_url=gw.base_url, headers=headers) as client,
        client.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        rid = response.headers["x-request-id"]
        next(response.iter_bytes())
    # Leaving the block closed the connection mid-stream.
    record = until(lambda: calls(gw, request_id=rid), "its record")[0]
    assert (record["status"], record["error_code"]) == (499, "client_closed_request")


def test_a_lone_surrogate_escape_is_valid_json(gw, key):
    body = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "\\ud800 alone"}]}'
    response = httpx.post(
        gw.base_url + "/v1/chat/completions", content=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
