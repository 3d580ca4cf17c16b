"""The compiled usage scan (_native/usage.pxi) finds the same token counts as its reference,
gateway/calllog/usage.py."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import _native
from gateway.calllog.usage import reference_openai_usage

BODIES = [
    b"",
    b'{"choices":[]}',
    b'{"usage":null}',
    b'{"usage" : null}',
    b'{"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}',
    b'{"data":[],"usage":{"prompt_tokens": 8, "total_tokens": 8}}',
    b'{"usage":{"completion_tokens":5}}',
    b'{"usage":{"prompt_tokens":"x","completion_tokens":null}}',
    b'{"usage":{"prompt_tokens":   7,"prompt_tokens_details":{"cached_tokens":3}}}',
    b'{"usage":{"prompt_tokens":12345678901234567890123,"completion_tokens":1}}',
    b'{"usage":{"prompt_tokens":0,"completion_tokens":0}}',
    b'data: {"choices":[{"delta":{"content":"hi"}}],"usage":null}\n\n',
    b'{"c":"the usage: {\\"usage\\": 1}","usage":{"prompt_tokens":1200,"completion_tokens":85,'
    b'"prompt_tokens_details":{"cached_tokens":1024}}}',
    b'"usage"',
    b'"usage":{"prompt_tokens":',
]

_token = st.sampled_from(
    [b'"usage"', b":", b" ", b"null", b"{", b"}", b",", b'"prompt_tokens":', b'"completion_tokens":',
     b'"cached_tokens":', b"0", b"7", b"42", b"x", b'"']
)  # fmt: skip


def test_usage_on_known_bodies():
    for body in BODIES:
        assert _native.openai_usage(body) == reference_openai_usage(body), body


@settings(max_examples=500, deadline=None)
@given(st.lists(_token, max_size=30).map(b"".join))
def test_usage_on_generated_bodies(body: bytes):
    assert _native.openai_usage(body) == reference_openai_usage(body)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["prompt_tokens", "completion_tokens", "total_tokens"]),
                       st.integers(0, 10**12)))  # fmt: skip
def test_usage_on_generated_usage_objects(usage: dict[str, int]):
    body = json.dumps({"id": "x", "usage": usage}).encode()
    assert _native.openai_usage(body) == reference_openai_usage(body)
