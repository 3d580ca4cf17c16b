"""The incremental SSE decoder: any events, either line ending, split at any bytes, same payloads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.providers import sse
from gateway.providers.sse import SSEDecoder, SSEError

from .helpers import split_at

payloads = st.lists(
    st.text(
        alphabet=st.characters(exclude_characters="\r\n", exclude_categories=("Cs",)),
        min_size=1,
        max_size=30,
    ),
    max_size=3,
)


def encode(events: list[list[str]], newline: str, named: bool) -> bytes:
    out = []
    for lines in events:
        if named:
            out.append(f"event: e{newline}")
        out.extend(f"data: {line}{newline}" for line in lines)
        out.append(f": comment{newline}id: 7{newline}{newline}")
    return "".join(out).encode()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(payloads.filter(bool), max_size=6),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.lists(st.integers(0, 2000), max_size=8),
)
def test_payloads_survive_any_split(events, newline, named, cuts):
    data = encode(events, newline, named)
    decoder = SSEDecoder()
    got: list[bytes] = []
    for piece in split_at(data, *[c for c in cuts if c <= len(data)]):
        got.extend(decoder.feed(piece))
    got.extend(decoder.close())
    assert got == ["\n".join(lines).encode() for lines in events]


def test_unterminated_last_event_counts_at_close():
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a":1}\n\ndata: {"b"') == [b'{"a":1}']
    assert decoder.feed(b":2}") == []
    assert decoder.close() == [b'{"b":2}']


def test_an_oversized_event_is_refused(monkeypatch):
    monkeypatch.setattr(sse, "MAX_EVENT_BYTES", 64)
    decoder = SSEDecoder()
    with pytest.raises(SSEError):
        decoder.feed(b"data: " + b"x" * 100)
    with pytest.raises(SSEError):
        SSEDecoder().feed(b"data: " + b"x" * 50 + b"\ndata: " + b"y" * 50 + b"\n")
