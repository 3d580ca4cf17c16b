"""The stream scenario's C load side: bench/ssemock serves the Python mock's stream byte for byte,
and bench/loadgen's stream mode times every SSE event and counts its errors by kind."""

import re
import threading
from collections.abc import Iterator
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import pytest

from bench import mock, ssemock
from bench.aigw import PROVIDER_KEY
from bench.payloads import CHAT_PATH, STREAM_REQUEST
from bench.procs import Processes, free_port
from bench.streamclient import run_streams

from .local_server import serving

CHUNKS = 4
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {PROVIDER_KEY}"}
# What differs from one answer to the next: ids, the creation time, the date.
_VARYING = [
    (rb"[0-9a-f]{32}", b"<id>"),
    (rb'"created":\d{10}', b'"created":<t>'),
    (rb"\r\ndate: [^\r]+", b"\r\ndate: <date>"),
]


def normalised(response: bytes) -> bytes:
    for pattern, replacement in _VARYING:
        response = re.sub(pattern, replacement, response)
    return response


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """The Python mock (paced 1 ms) and ssemock serving what was recorded from it."""
    directory = tmp_path_factory.mktemp("ssemock")
    with Processes(directory) as procs:
        python_url, _ = mock.start(procs, None, CHUNKS, 1)
        c_url, _ = ssemock.start(procs, None, STREAM_REQUEST, CHUNKS, 1, directory)
        yield python_url, c_url


@pytest.mark.parametrize("usage", [False, True], ids=["plain", "with-usage"])
def test_ssemock_sends_the_python_mocks_stream(upstreams, usage):
    body = ssemock.with_usage(STREAM_REQUEST) if usage else STREAM_REQUEST
    python_url, c_url = upstreams
    expected = ssemock.request(python_url + CHAT_PATH, body, HEADERS)
    got = ssemock.request(c_url + CHAT_PATH, body, HEADERS)
    assert normalised(got) == normalised(expected)
    assert got.startswith(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream")
    assert (b'"usage":{"prompt_tokens"' in got) is usage and got.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n")
    head, events = ssemock.split_events(got)
    assert b"connection: keep-alive\r\n" in head and len(events) == CHUNKS + 3 + usage


def test_ssemock_fills_in_fresh_values_per_request(upstreams):
    _, c_url = upstreams
    first, second = (ssemock.request(c_url + CHAT_PATH, STREAM_REQUEST, HEADERS) for _ in range(2))
    ids = [set(re.findall(rb"chatcmpl-([0-9a-f]{32})", r)) for r in (first, second)]
    assert len(ids[0]) == len(ids[1]) == 1 and ids[0] != ids[1]


def test_ssemock_answers_anything_else_with_404(upstreams):
    parts = urlsplit(upstreams[1])
    conn = HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", "/v1/models")
    response = conn.getresponse()
    assert response.status == 404 and b"invalid_request_error" in response.read()
    conn.request("POST", CHAT_PATH, body='{"model":"m","messages":[]}', headers=HEADERS)  # not streamed
    assert conn.getresponse().status == 404
    conn.close()


def test_stream_client_times_every_event(upstreams):
    s = run_streams(upstreams[1] + CHAT_PATH, STREAM_REQUEST.encode(), HEADERS, 4, 0.5, 0.01, CHUNKS)
    assert s.streams > 4 and s.error_count == 0
    assert s.events == s.streams * (CHUNKS + 3)  # role, content, finish, [DONE]
    assert s.gaps.total == s.streams * (CHUNKS - 1)  # between content events
    assert s.ttfb.total == s.streams - 4  # not a connection's first stream
    assert s.cpu_s > 0


# ---------------------------------------------------------------- a misbehaving server

EVENT = b"data: {}\n\n"
release = threading.Event()  # lets a hanging handler go at the end


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/fail":
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.path == "/hang":
            release.wait(30)
            self.close_connection = True
            return
        if self.path == "/split":  # an event cut across chunks, and a chunk holding two events
            parts = [b"data: {}\n", b"\n" + EVENT, EVENT + EVENT[:3], EVENT[3:]]
        else:
            parts = [EVENT] * (2 if self.path == "/short" else CHUNKS + 1)
        for part in parts:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        if self.path == "/cut":
            self.close_connection = True  # no terminating chunk: the stream breaks
            return
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(Handler) as url:
        try:
            yield url
        finally:
            release.set()  # before the server stops: a hanging handler must not hold it


def drive(url: str, timeout_s: float = 10):
    return run_streams(url, b"{}", {}, 2, 0.3, 0, CHUNKS, stream_timeout_s=timeout_s)


def test_events_are_counted_across_reads_and_chunks(server):
    s = drive(server + "/split")
    assert s.streams == 0 and s.errors["truncated"] > 0  # 4 events, fewer than CHUNKS + 1
    s = run_streams(server + "/split", b"{}", {}, 2, 0.3, 0, 3)
    assert s.error_count == 0 and s.events == 4 * s.streams > 0 and s.gaps.total == 2 * s.streams


@pytest.mark.parametrize(("path", "kind"), [("/short", "truncated"), ("/fail", "status"), ("/cut", "broken")])
def test_stream_errors_are_counted_by_kind(server, path, kind):
    s = drive(server + path)
    assert s.streams == 0 and s.errors[kind] > 0
    assert s.error_count == s.errors[kind]


def test_a_stream_that_stalls_is_a_timeout(server):
    s = drive(server + "/hang", timeout_s=0.2)
    assert s.streams == 0 and s.errors["timeout"] > 0 and s.error_count == s.errors["timeout"]


def test_a_refused_connection_is_a_connect_error():
    s = drive(f"http://127.0.0.1:{free_port()}/")
    assert s.streams == 0 and s.errors["connect"] > 0 and s.error_count == s.errors["connect"]
