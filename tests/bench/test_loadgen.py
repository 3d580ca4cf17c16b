"""The C load generator against a small local server: content-length, chunked (with extensions
and trailers), error statuses and `Connection: close` are all counted right."""

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from bench import loadgen

from .local_server import serving

BODY = b'{"ok": true}' * 10


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # headers and body go in separate writes

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Authorization") != "Bearer k":
            self._answer(401, BODY)
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n")
        elif self.path == "/fail":
            self._answer(500, BODY)
        elif self.path == "/close":
            self._answer(200, BODY, close=True)
        else:
            self._answer(200, BODY)

    def _answer(self, status: int, body: bytes, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(Handler) as url:
        yield url


@pytest.fixture(scope="module")
def body_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("lg") / "body.json"
    path.write_text('{"model": "m"}')
    return path


def drive(url: str, body_file, rate: float = 0.0, **kw) -> loadgen.LoadgenResult:
    return loadgen.run(
        url, 2, 0.5, rate=rate, method="POST", headers=["Authorization: Bearer k"], body_file=body_file, **kw
    )


@pytest.mark.parametrize("path", ["/cl", "/chunked", "/close"])
def test_closed_loop_counts_answers_without_errors(server, body_file, path):
    r = drive(server + path, body_file)
    assert r.completed > 10
    assert r.status["2xx"] == r.completed and r.non2xx == 0
    assert sum(r.socket_errors.values()) == 0
    assert r.latency.total == r.completed


def test_constant_rate_sends_exactly_the_schedule(server, body_file):
    progress = []
    # As many connections as requests: a request never waits for a free one, so a stall of this
    # in-process server on a busy machine cannot make loadgen skip a send. What is asserted is
    # loadgen's schedule, not the server's speed.
    r = loadgen.run(
        server + "/chunked",
        100,
        0.5,
        rate=200,
        method="POST",
        headers=["Authorization: Bearer k"],
        body_file=body_file,
        on_progress=progress.append,
    )
    assert (r.mode, r.sent, r.completed, r.unsent) == ("open", 100, 100, 0)
    # Not sent early: the 100th request is due 495 ms after the first (how late the answers come
    # is the server's business, so there is no upper bound).
    assert r.elapsed_s >= 0.495


def test_a_connection_idle_past_the_keepalive_is_opened_afresh_and_loses_no_request(server, body_file):
    # One connection, a request every 200 ms, connections kept 1 ms: every request after the first
    # finds its connection idle past the keep-alive (unless every answer took 199 ms).
    r = loadgen.run(
        server + "/cl",
        1,
        1.0,
        rate=5,
        method="POST",
        headers=["Authorization: Bearer k"],
        body_file=body_file,
        keepalive_s=0.001,
    )
    assert (r.sent, r.completed, r.status["2xx"]) == (5, 5, 5)
    assert sum(r.socket_errors.values()) == 0
    assert r.expired >= 1


def test_error_statuses_are_counted_as_non_2xx(server, body_file):
    r = drive(server + "/fail", body_file)
    assert r.completed > 0 and r.non2xx == r.completed == r.status["5xx"]
    unauthorised = loadgen.run(server + "/cl", 1, 0.3, method="POST", body_file=body_file)
    assert unauthorised.status["4xx"] == unauthorised.completed > 0


def test_a_refused_connection_is_a_socket_error(body_file):
    from bench.procs import free_port

    r = drive(f"http://127.0.0.1:{free_port()}/", body_file)
    assert r.completed == 0 and r.socket_errors["connect"] > 0


def test_only_plain_http_is_accepted():
    with pytest.raises(ValueError, match="plain http"):
        loadgen.run("https://127.0.0.1/", 1, 1)
