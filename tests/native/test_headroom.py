"""Headroom read in C from a response head (_native/headroom.pxi) is what its reference,
gateway/keypool/learn.py, reads from the picked headers; values it does not decide are left to it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import _native
from gateway.keypool import learn
from gateway.upstream import head as head_mod

# Header values as llhttp passes them on (visible ASCII, inner spaces, obs-text), around the
# forms OpenAI sends: digits, and Go durations such as "6ms", "1m30s", "0.5s".
_count = st.one_of(
    st.integers(0, 10**20).map(str), st.sampled_from(["", "-1", "+5", "1_0", "²", "5\xa0", "0x1"])
)
_duration = st.one_of(
    st.lists(
        st.tuples(
            st.sampled_from(["0", "6", "1.5", ".5", "1.", "12.25", "1.2.3", "."]),
            st.sampled_from(["h", "m", "s", "ms", "us", "µs", "ns", "x", ""]),
        ),
        min_size=1,
        max_size=3,
    ).map(lambda parts: "".join(a + b for a, b in parts)),
    st.sampled_from(["", "6ms\xa0", "s", "ms5s", "9" * 30 + "h", "6 ms", "1e3s"]),
)
_openai_headers = st.fixed_dictionaries(
    {},
    optional={
        "x-ratelimit-remaining-requests": _count,
        "x-ratelimit-remaining-tokens": _count,
        "x-ratelimit-limit-requests": _count,
        "x-ratelimit-limit-tokens": _count,
        "x-ratelimit-reset-requests": _duration,
        "x-ratelimit-reset-tokens": _duration,
    },
)


# A head as an answer brings them: the names in any case, a value sometimes repeated, other
# headers around them, Anthropic's now and then.
def _rate_head_bytes(headers: dict[str, str], extra: list[str], upper: bool, pad: str) -> bytes:
    lines = [
        "HTTP/1.1 200 OK",
        "content-type: application/json",
        *(f"{name.upper() if upper else name}:{pad}{value}{pad}" for name, value in headers.items()),
        *(f"{name}: 7" for name in extra),  # Anthropic's, or a repeat of OpenAI's
        "x-ratelimit-remaining-requestsx: 1",
    ]
    return "\r\n".join(lines).encode("latin-1", "replace")


_rate_head = st.builds(
    _rate_head_bytes,
    _openai_headers,
    st.lists(st.sampled_from(sorted(learn.LEARNED_HEADERS)), max_size=2),
    st.booleans(),
    st.sampled_from(["", " ", "\t", "  "]),
)


def reference_head_headroom(head: bytes, now_ns: int) -> Any:
    return learn.reference_headroom(head_mod.reference_pick_headers(head, learn.LEARNED_HEADERS), now_ns)


@settings(max_examples=1000, deadline=None)
@given(_rate_head)
def test_head_headroom_as_the_reference(head: bytes):
    assert learn.head_headroom(head, 10**12) == reference_head_headroom(head, 10**12)


def test_head_headroom_reads_plain_openai_values_in_c():
    head = (
        b"HTTP/1.1 200 OK\r\nx-ratelimit-remaining-requests: 9999\r\n"
        b"X-RateLimit-Reset-Requests:1m30.5s\r\nx-ratelimit-limit-requests: 10000\r\n"
        b"x-ratelimit-remaining-tokens: 0\r\nx-ratelimit-reset-tokens: 6ms"
    )
    want = (9999, 10**12 + 90_500_000_000, 10000, 0, 10**12 + 6_000_000, -1)
    assert _native.head_headroom(head, 10**12) == reference_head_headroom(head, 10**12) == want
    assert _native.head_headroom(b"HTTP/1.1 200 OK\r\ncontent-length: 2", 0) is None  # nothing to learn


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nx-ratelimit-remaining-requests: 5\xa0",  # not plain
        b"HTTP/1.1 200 OK\r\nx-ratelimit-remaining-requests: 5\r\nx-ratelimit-remaining-requests: 6",
        b"HTTP/1.1 200 OK\r\nanthropic-ratelimit-requests-remaining: 5",
    ],
)
def test_head_headroom_leaves_the_rest_to_the_reference(head: bytes):
    assert _native.head_headroom(head, 0) is False
