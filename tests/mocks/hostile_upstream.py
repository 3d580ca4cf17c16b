"""An OpenAI-format upstream that misbehaves on purpose, over raw sockets: the model a request
names picks how (`reset-before-head`, `html-200`, ...; see BEHAVIOURS). `ok` answers a small
completion and keeps the connection alive, so a test can see the gateway's pool still works.

    python -m tests.mocks.hostile_upstream --port 0   # prints: mock listening on http://HOST:PORT

A thread per connection; `GET /_mock/stats` counts the requests each behaviour received.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

COMPLETION = json.dumps(
    {
        "id": "chatcmpl-hostile",
        "object": "chat.completion",
        "created": 0,
        "model": "ok",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
).encode()
CHUNK = (
    b"data: %s\n\n"
    % json.dumps(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}],
        }
    ).encode()
)
TRICKLE_INTERVAL_S = 0.25
STATS: Counter[str] = Counter()


def head(status: str, *fields: str) -> bytes:
    return ("\r\n".join([f"HTTP/1.1 {status}", *fields]) + "\r\n\r\n").encode()


def reset(sock: socket.socket) -> None:
    """Close with a TCP reset, not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def hold(sock: socket.socket) -> None:
    """Answer nothing until the gateway gives up and closes."""
    sock.settimeout(None)
    while sock.recv(65536):
        pass


def trickle(sock: socket.socket, data: bytes) -> None:
    for i in range(len(data)):
        sock.sendall(data[i : i + 1])
        time.sleep(TRICKLE_INTERVAL_S)


def ok(sock: socket.socket) -> bool:
    sock.sendall(
        head("200 OK", "Content-Type: application/json", f"Content-Length: {len(COMPLETION)}") + COMPLETION
    )
    return True


def body_answer(status: str, content_type: str, body: bytes) -> Callable[[socket.socket], bool]:
    def answer(sock: socket.socket) -> bool:
        sock.sendall(head(status, f"Content-Type: {content_type}", f"Content-Length: {len(body)}") + body)
        return True

    return answer


def stream_then(end: Callable[[socket.socket], None]) -> Callable[[socket.socket], bool]:
    """A 200 stream of two chunks, then `end`."""

    def answer(sock: socket.socket) -> bool:
        sock.sendall(head("200 OK", "Content-Type: text/event-stream", "Transfer-Encoding: chunked"))
        for _ in range(2):
            sock.sendall(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
        end(sock)
        return False

    return answer


def truncated_chunk(sock: socket.socket) -> None:
    sock.sendall(b"%x\r\n%s" % (1000, CHUNK))  # promises 1000 bytes, sends fewer, then leaves
    sock.shutdown(socket.SHUT_WR)


def reset_before_head(sock: socket.socket) -> bool:
    reset(sock)
    return False


def reset_mid_head(sock: socket.socket) -> bool:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Ty")
    reset(sock)
    return False


def reset_mid_body(sock: socket.socket) -> bool:
    sock.sendall(head("200 OK", "Content-Type: application/json", "Content-Length: 1000") + COMPLETION[:40])
    reset(sock)
    return False


def slow_head(sock: socket.socket) -> bool:
    hold(sock)
    return False


def trickled_body(sock: socket.socket) -> bool:
    sock.sendall(head("200 OK", "Content-Type: application/json", f"Content-Length: {len(COMPLETION)}"))
    trickle(sock, COMPLETION)
    return False


def truncated_chunked(sock: socket.socket) -> bool:
    sock.sendall(head("200 OK", "Content-Type: application/json", "Transfer-Encoding: chunked"))
    truncated_chunk(sock)
    return False


# Each returns whether the connection may serve another request.
BEHAVIOURS: dict[str, Callable[[socket.socket], bool]] = {
    "ok": ok,
    "reset-before-head": reset_before_head,
    "reset-mid-head": reset_mid_head,
    "reset-mid-body": reset_mid_body,
    "slow-head": slow_head,
    "trickled-body": trickled_body,
    "truncated-chunked": truncated_chunked,
    "invalid-json": body_answer("200 OK", "application/json", b'{"id": "chatcmpl-1", "choices": [}'),
    "html-200": body_answer("200 OK", "text/html", b"<html><body>Welcome to nginx!</body></html>"),
    "huge-error-page": body_answer("500 Internal Server Error", "text/html", b"<p>oops</p>" * 1_000_000),
    "stream-reset": stream_then(reset),
    "stream-truncated-chunk": stream_then(truncated_chunk),
}


def read_request(rfile) -> tuple[str, str] | None:  # type: ignore[no-untyped-def]
    """(path, model) of the next request, or None when the connection ended."""
    line = rfile.readline(65537)
    parts = line.split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        return None  # the connection ended, or does not speak HTTP (a TLS handshake)
    path = parts[1].decode()
    length = 0
    while (field := rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
        name, _, value = field.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = rfile.read(length) if length else b""
    model = json.loads(body).get("model", "") if body else ""
    return path, model


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        sock = self.connection
        while (request := read_request(self.rfile)) is not None:
            path, model = request
            if path == "/_mock/stats":
                stats = json.dumps(dict(STATS)).encode()
                sock.sendall(
                    head("200 OK", "Content-Type: application/json", f"Content-Length: {len(stats)}") + stats
                )
                continue
            STATS[model] += 1
            behaviour = BEHAVIOURS.get(model, ok)
            try:
                if not behaviour(sock):
                    return
            except OSError:
                return  # the gateway gave up on this connection


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mocks.hostile_upstream")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = Server((args.host, args.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"mock listening on http://{args.host}:{server.server_address[1]}", flush=True)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
