"""Response heads: the status line, the app's headers, framing and `date`, as one bytes object."""

from __future__ import annotations

import http
import time
from email.utils import formatdate


def _status_line(code: int) -> bytes:
    phrase = http.HTTPStatus(code).phrase if code in http.HTTPStatus._value2member_map_ else ""
    return f"HTTP/1.1 {code} {phrase}".rstrip().encode("latin-1") + b"\r\n"


# "HTTP/1.1 200 OK\r\n" for every status a response can have (a reason phrase is optional).
STATUS_LINES = {code: _status_line(code) for code in range(100, 600)}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
CHUNKED = "transfer-encoding: chunked\r\n"
LAST_CHUNK = b"0\r\n\r\n"

# Framing after the app's headers: what follows them for each kind of connection.
KEEP = ""
CLOSE = "connection: close\r\n"
KEEP_10 = "connection: keep-alive\r\n"  # an HTTP/1.0 client that asked to keep the connection

Headers = list[tuple[str, str]]


class _Date:
    """The `date` header line, rebuilt at most once a second."""

    __slots__ = ("line", "second")

    def __init__(self) -> None:
        self.second = 0
        self.line = ""

    def __call__(self) -> str:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.line = f"date: {formatdate(now, usegmt=True)}\r\n"
        return self.line


date_line = _Date()


def head(status: int, headers: Headers, framing: str) -> bytes:
    """The head of a response: `framing` is its content-length or chunked line and its
    connection line. A header name or value holding a line break would start a header of its
    own: that is the app's bug, and raises."""
    lines = "".join([f"{name}: {value}\r\n" for name, value in headers])
    n = len(headers)
    if lines.count("\r") != n or lines.count("\n") != n:
        raise ValueError("a response header holds a line break")
    text = f"{lines}{framing}{date_line()}\r\n"
    return STATUS_LINES[status] + text.encode("latin-1")
