"""The soak's hostile callers: clients that leave mid-body or mid-stream, send broken JSON or a
wrong key, or connect and say nothing — one at a time, at a fixed rate, in turn. Each is a
failure provoked on purpose; only an answer other than the one it must get counts as an error."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable

from .payloads import CHAT_PATH, CHAT_REQUEST, STREAM_REQUEST

TIMEOUT_S = 10.0


def _request(path: str, key: str, body: bytes, length: int | None = None) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: aigw\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body) if length is None else length}\r\n\r\n"
    ).encode() + body


def _read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _status(head: bytes) -> int:
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def abort_mid_body(sock: socket.socket, key: str) -> str | None:
    """Half the body its Content-Length promises, then gone: the gateway records a 499."""
    body = CHAT_REQUEST.encode()
    sock.sendall(_request(CHAT_PATH, key, body[: len(body) // 2], length=len(body)))
    return None


def abort_mid_stream(sock: socket.socket, key: str) -> str | None:
    """A streamed completion left after its first event: the gateway stops the upstream stream."""
    sock.sendall(_request(CHAT_PATH, key, STREAM_REQUEST.encode()))
    data = _read_until(sock, b"data: ")
    if _status(data) != 200 or b"data: " not in data:
        return f"a stream answered {data[:80]!r}"
    return None


def broken_json(sock: socket.socket, key: str) -> str | None:
    """A body that is not JSON must be a 400."""
    sock.sendall(_request(CHAT_PATH, key, b'{"model": "gpt-4o-mini", "messages": ['))
    head = _read_until(sock, b"\r\n\r\n")
    return None if _status(head) == 400 else f"broken JSON answered {head[:80]!r}"


def wrong_key(sock: socket.socket, key: str) -> str | None:
    """A consumer key nobody issued must be a 401."""
    sock.sendall(_request(CHAT_PATH, "aigw-not-a-key", CHAT_REQUEST.encode()))
    head = _read_until(sock, b"\r\n\r\n")
    return None if _status(head) == 401 else f"a wrong key answered {head[:80]!r}"


def silent(sock: socket.socket, key: str) -> str | None:
    """Connect and close without a byte."""
    return None


KINDS: dict[str, Callable[[socket.socket, str], str | None]] = {
    "abort_mid_body": abort_mid_body,
    "abort_mid_stream": abort_mid_stream,
    "broken_json": broken_json,
    "wrong_key": wrong_key,
    "silent": silent,
}


class HostileClients:
    """Runs the hostile kinds in turn, `rate` a second, on a thread until stop()."""

    def __init__(self, host: str, port: int, key: str, rate: float) -> None:
        self.address = (host, port)
        self.key = key
        self.interval_s = 1 / rate if rate > 0 else 0.0
        self.done: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hostile-clients", daemon=True)

    @property
    def provoked(self) -> int:
        return sum(self.done.values())

    def start(self) -> HostileClients:
        if self.interval_s:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        due = time.monotonic()
        for name in itertools.cycle(KINDS):
            due += self.interval_s
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            try:
                with socket.create_connection(self.address, timeout=TIMEOUT_S) as sock:
                    problem = KINDS[name](sock, self.key)
            except OSError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            self.done[name] += 1
            if problem is not None:
                self.unexpected.append(f"{name}: {problem}")
