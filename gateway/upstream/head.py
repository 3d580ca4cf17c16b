"""A response head as llhttp accepted it (status line, then CRLF-ended `name: value` lines, no
space before a colon): the facts the connection needs in one scan, and the headers on demand.

llhttp frames the body; it also offers a Python callback per header, which costs more than the
rest of a response's parsing. The connection keeps the head's bytes instead, asks `scan_head` for
framing and whether a watched name came, and splits the headers only when someone reads them.
"""

from __future__ import annotations

from .. import native

HEAD_LENGTH = 1  # a Content-Length header
HEAD_CHUNKED = 2  # a Transfer-Encoding whose value names chunked
HEAD_WATCHED = 4  # a header named in `watch`


def split_head(head: bytes) -> list[tuple[bytes, bytes]]:
    """(name, value) pairs: names as sent, values without the whitespace around them."""
    pairs = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        pairs.append((name, value.strip(b" \t")))
    return pairs


def scan_head(received: bytes, start: int, watch: tuple[bytes, ...]) -> tuple[int, int]:
    """(end, flags) of the head that starts at `start` in `received`: where its blank line
    begins (the end of the bytes if none), and its HEAD_* flags; `watch` holds lower-case names."""
    end = received.find(b"\r\n\r\n", start)
    if end < 0:
        end = len(received)
    flags = 0
    for name, value in split_head(received[start:end]):
        name = name.lower()
        if name == b"content-length":
            flags |= HEAD_LENGTH
        elif name == b"transfer-encoding":
            if b"chunked" in value.lower():
                flags |= HEAD_CHUNKED
        elif name in watch:
            flags |= HEAD_WATCHED
    return end, flags


def pick_headers(head: bytes, names: tuple[str, ...]) -> dict[str, str]:
    """The values of the headers named in `names` (lower-case), keyed by those names, decoded
    and joined as `Response.headers` would: for the few a caller needs, without the rest."""
    found: dict[str, str] = {}
    for name, value in split_head(head):
        key = name.decode("latin-1").lower()
        if key in names:
            text = value.decode("latin-1")
            found[key] = f"{found[key]}, {text}" if key in found else text
    return found


# The compiled versions (_native/response_head.pxi) give the same answers; these stay their reference.
reference_scan_head, reference_pick_headers = scan_head, pick_headers
if native.ENABLED:
    from .._native import pick_headers, scan_head
