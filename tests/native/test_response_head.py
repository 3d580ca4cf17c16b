"""The compiled response-head scan and header pick (_native/response_head.pxi) answer as their
reference, gateway/upstream/head.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import _native
from gateway.upstream import head as head_mod

WATCH = (b"x-ratelimit-remaining-requests", b"anthropic-ratelimit-tokens-remaining")
_name = st.one_of(
    st.sampled_from(
        ["Content-Length", "content-length", "Transfer-Encoding", "TRANSFER-ENCODING",
         "X-RateLimit-Remaining-Requests", "anthropic-ratelimit-tokens-remaining",
         "x-ratelimit-remaining-request", "Content-Lengths"]
    ),
    st.text("abcXYZ-", min_size=1, max_size=20),
)  # fmt: skip
_value = st.one_of(
    st.sampled_from(["chunked", "gzip, Chunked", "chunke", "identity", "12"]),
    st.text("a cC:kd,", max_size=12),
)
_head = st.lists(st.tuples(_name, _value), max_size=12).map(
    lambda pairs: "\r\n".join(["HTTP/1.1 200 OK", *(f"{k}: {v}" for k, v in pairs)]).encode()
)


@pytest.mark.parametrize(
    ("head", "flags"),
    [
        (b"HTTP/1.1 200 OK", 0),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5", head_mod.HEAD_LENGTH),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, CHUNKED", head_mod.HEAD_CHUNKED),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip", 0),
        (
            b"HTTP/1.1 200 OK\r\nx-chunked: chunked\r\nX-RateLimit-Remaining-Requests: 0",
            head_mod.HEAD_WATCHED,
        ),
        (b"HTTP/1.1 429 X\r\nx-ratelimit-remaining-requestsx: 1\r\ncontent-length:0", head_mod.HEAD_LENGTH),
    ],
)
def test_head_scan_on_known_heads(head: bytes, flags: int):
    received = b"HTTP/1.1 100 Continue\r\n\r\n" + head + b"\r\n\r\nbody: x\r\n\r\n"
    want = (len(received) - len(b"\r\n\r\nbody: x\r\n\r\n"), flags)
    assert _native.scan_head(received, 25, WATCH) == head_mod.reference_scan_head(received, 25, WATCH) == want
    assert (
        _native.scan_head(head, 0, WATCH)
        == head_mod.reference_scan_head(head, 0, WATCH)
        == (len(head), flags)
    )


@settings(max_examples=500, deadline=None)
@given(_head, st.binary(max_size=40), st.sampled_from([b"\r\n\r\n", b"\r\n", b""]))
def test_head_scan_as_the_reference(head: bytes, before: bytes, blank: bytes):
    received = before + head + blank + b"x\r\n\r\n"
    native = _native.scan_head(received, len(before), WATCH)
    assert native == head_mod.reference_scan_head(received, len(before), WATCH)


PICKED = ("x-ratelimit-remaining-requests", "anthropic-ratelimit-tokens-remaining", "content-length")


def test_header_pick_on_a_known_head():
    head = (
        b"HTTP/1.1 200 OK\r\nX-RateLimit-Remaining-Requests:  9 \r\nx-a: 1\r\n"
        b"x-ratelimit-remaining-requests:\t8\r\nContent-Length:12"
    )
    want = {"x-ratelimit-remaining-requests": "9, 8", "content-length": "12"}
    assert _native.pick_headers(head, PICKED) == head_mod.reference_pick_headers(head, PICKED) == want


def test_header_pick_takes_at_most_64_names():
    with pytest.raises(ValueError, match="at most 64"):
        _native.pick_headers(b"HTTP/1.1 200 OK", tuple(f"x-{i}" for i in range(65)))


@settings(max_examples=500, deadline=None)
@given(_head)
def test_header_pick_as_the_reference(head: bytes):
    assert _native.pick_headers(head, PICKED) == head_mod.reference_pick_headers(head, PICKED)
