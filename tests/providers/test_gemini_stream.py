"""Gemini SSE -> OpenAI chunks: documented streams (old style, finishReason on every event, CRLF;
new style with function calls and thought signatures), every byte split, truncation, errors."""

from __future__ import annotations

import json
import re

from google.genai import types
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.providers import adapter_for
from gateway.providers.gemini_api import signature_of

from .helpers import assemble, openai_stream, run, split_at, sse_events, stream_fixture

ADAPTER = adapter_for("gemini")
TEXT = stream_fixture("gemini/stream_text.sse")
CALLS = stream_fixture("gemini/stream_function_call.sse")


def translate(data: bytes, *cuts: int, include_usage: bool = True) -> bytes:
    return run(ADAPTER.chat_stream("gem", include_usage), split_at(data, *cuts))


def normalized(out: bytes) -> bytes:
    # created is a clock reading; ids Gemini did not give (no responseId, unnamed calls) are random
    out = re.sub(rb'"created":\d+', b'"created":0', out)
    out = re.sub(rb'"id":"chatcmpl-[0-9a-f]{24}"', b'"id":"chatcmpl-x"', out)
    return re.sub(rb'"id":"call_[0-9a-f]+', b'"id":"call_x', out)


def test_fixture_events_are_gemini_responses():
    for data in (TEXT, CALLS):
        for _, payload in sse_events(data.replace(b"\r\n", b"\n"), comments=True):
            types.GenerateContentResponse.model_validate_json(payload)


def test_old_style_text_stream():
    chunks, done, error = openai_stream(translate(TEXT))
    assert done and error is None
    result = assemble(chunks)
    assert result["text"].startswith("In the quaint, sunlit cottage")
    assert result["text"].endswith("stronger than ever.")
    assert result["finish"] == "stop"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"], "finishReason repeated on every event still gives one finish chunk"


def test_function_calls_with_signature_and_usage():
    chunks, done, _ = openai_stream(translate(CALLS))
    result = assemble(chunks)
    assert done
    assert result["text"] == "Let me check the weather in Paris."
    weather, clock = result["tool_calls"]
    assert (weather["name"], weather["arguments"]) == ("get_weather", '{"location":"Paris, France"}')
    assert signature_of(weather["id"]) == "CqIBAY89a1+/x7Q="
    assert (clock["name"], clock["arguments"]) == ("get_time", "{}")
    assert signature_of(clock["id"]) is None
    assert result["finish"] == "tool_calls"
    assert result["usage"] == {
        "prompt_tokens": 70,
        "completion_tokens": 60,
        "total_tokens": 130,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 40},
    }
    assert {c.id for c in chunks} == {"chatcmpl-jEvCaPWXEsKRnvgP-cGC4AQ"}


def test_every_single_split_gives_the_same_output():
    whole = normalized(translate(CALLS))
    for cut in range(1, len(CALLS)):
        assert normalized(translate(CALLS, cut)) == whole, f"split at byte {cut}"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, len(TEXT)), max_size=10))
def test_any_splits_of_the_crlf_stream(cuts):
    assert normalized(translate(TEXT, *cuts)) == normalized(translate(TEXT))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(CALLS) - 1))
def test_truncated_streams_end_well_formed(end):
    _chunks, done, error = openai_stream(translate(CALLS[:end]))
    assert done != (error is not None)
    if error is not None:
        assert error["code"] in ("upstream_stream_truncated", "upstream_bad_response")


def test_cut_before_the_final_event_is_an_error():
    data = CALLS[: CALLS.rindex(b"data: ")]
    _, done, error = openai_stream(translate(data))
    assert not done and error["code"] == "upstream_stream_truncated" and "gemini" in error["message"]


def test_error_object_in_stream():
    data = (
        CALLS[: CALLS.rindex(b"data: ")]
        + b'data: {"error": {"code": 503, "message": "The model is overloaded.", '
        + b'"status": "UNAVAILABLE"}}\n\n'
    )
    chunks, done, error = openai_stream(translate(data))
    assert not done and (error["type"], error["code"]) == ("api_error", "service_unavailable")
    assert assemble(chunks)["text"] == "Let me check the weather in Paris."


def test_usage_chunk_only_when_asked():
    translator = ADAPTER.chat_stream("gem", include_usage=False)
    chunks, done, _ = openai_stream(run(translator, [CALLS]))
    assert done and all(c.usage is None for c in chunks)
    assert translator.usage is not None and translator.usage.total_tokens == 130


def test_several_candidates_keep_their_index():
    first = {
        "candidates": [
            {"content": {"parts": [{"text": t}], "role": "model"}, "index": i} for i, t in enumerate("AB")
        ]
    }
    last = {
        "candidates": [
            {"content": {"parts": [{"text": "a"}], "role": "model"}, "finishReason": "STOP", "index": 0},
            {"content": {"parts": [], "role": "model"}, "finishReason": "MAX_TOKENS", "index": 1},
        ]
    }
    data = b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in (first, last))
    chunks, done, _ = openai_stream(translate(data))
    texts = {0: "", 1: ""}
    finishes = {}
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
            if choice.finish_reason:
                finishes[choice.index] = choice.finish_reason
    assert done and texts == {0: "Aa", 1: "B"} and finishes == {0: "stop", 1: "length"}
