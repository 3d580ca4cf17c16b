"""Response bytes: precomputed status lines and header blocks, and SSE events in HTTP chunks.

The mock is the upstream of load benchmarks, so answers are joined from prebuilt bytes rather
than assembled header by header.
"""

from __future__ import annotations

_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    401: b"Unauthorized",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Payload Too Large",
    429: b"Too Many Requests",
    500: b"Internal Server Error",
}
JSON_HEAD = {
    code: b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\nopenai-version: 2020-10-01\r\n"
    % (code, reason)
    for code, reason in _REASONS.items()
}
# OpenAI streams with this content type; the media type is text/event-stream.
SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
    b"transfer-encoding: chunked\r\nopenai-version: 2020-10-01\r\n"
)
KEEP = b"connection: keep-alive\r\n\r\n"
CLOSE = b"connection: close\r\n\r\n"


def frame(data: bytes) -> bytes:
    # One SSE event per HTTP chunk, as OpenAI does.
    return b"%x\r\n%s\r\n" % (len(data), data)


DONE = frame(b"data: [DONE]\n\n")
END = b"0\r\n\r\n"


class Stream:
    """A streamed answer: sent in one write, or paced when chunk_interval_ms is set."""

    __slots__ = ("head", "opening", "steps", "tail")

    def __init__(self, head: bytes, opening: bytes, steps: list[bytes], tail: bytes) -> None:
        self.head = head
        self.opening = opening  # role chunk(s)
        self.steps = steps  # one entry per content chunk (n events when n > 1)
        self.tail = tail  # finish chunk(s), usage chunk, [DONE], chunked terminator

    def joined(self) -> bytes:
        return b"".join((self.head, self.opening, *self.steps, self.tail))
