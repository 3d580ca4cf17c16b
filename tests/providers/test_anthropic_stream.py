"""Anthropic stream -> OpenAI chunks: documented event streams, split at every byte, cut short,
broken, or ending in an error event. Every chunk is validated with the openai SDK's types."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.providers import adapter_for
from gateway.providers.anthropic_api import JSON_TOOL

from .helpers import assemble, openai_stream, run, split_at, stream_fixture

ADAPTER = adapter_for("anthropic")
TEXT = stream_fixture("anthropic/stream_text.sse")
TOOL = stream_fixture("anthropic/stream_tool_use.sse")


def translate(data: bytes, *cuts: int, include_usage: bool = True) -> bytes:
    return run(ADAPTER.chat_stream("my-claude", include_usage), split_at(data, *cuts))


def normalized(out: bytes) -> bytes:
    return re.sub(rb'"created":\d+', b'"created":0', out)


def test_text_stream():
    chunks, done, error = openai_stream(translate(TEXT))
    assert done and error is None
    assert chunks[0].choices[0].delta.role == "assistant"
    assert {c.id for c in chunks} == {"msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK"}
    assert {c.model for c in chunks} == {"my-claude"}
    result = assemble(chunks)
    assert result["text"] == "Hello there!"
    assert result["finish"] == "stop"
    assert result["usage"]["prompt_tokens"] == 11
    assert result["usage"]["completion_tokens"] == 6
    assert chunks[-1].choices == [] and chunks[-1].usage is not None  # the usage chunk comes last


def test_tool_use_stream_becomes_tool_call_deltas():
    chunks, done, _ = openai_stream(translate(TOOL))
    result = assemble(chunks)
    assert result["text"] == "I'll check the current weather in Paris for you."
    assert result["tool_calls"] == [
        {"id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "name": "get_weather", "arguments": '{"location": "Paris"}'}
    ]
    assert result["finish"] == "tool_calls"
    assert result["usage"]["completion_tokens"] == 65
    first_call = next(c for c in chunks if c.choices and c.choices[0].delta.tool_calls)
    assert first_call.choices[0].delta.tool_calls[0].type == "function"
    assert done


def test_usage_chunk_only_when_asked_but_usage_always_recorded():
    translator = ADAPTER.chat_stream("m", include_usage=False)
    chunks, done, _ = openai_stream(run(translator, [TOOL]))
    assert done and all(c.usage is None for c in chunks)
    assert translator.usage is not None
    assert (translator.usage.prompt_tokens, translator.usage.completion_tokens) == (377, 65)


def test_every_single_split_gives_the_same_output():
    whole = normalized(translate(TOOL))
    for cut in range(1, len(TOOL)):
        assert normalized(translate(TOOL, cut)) == whole, f"split at byte {cut}"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(TEXT)), max_size=12))
def test_any_splits_give_the_same_output(cuts):
    assert normalized(translate(TEXT, *cuts)) == normalized(translate(TEXT))


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(TOOL) - 1), st.lists(st.integers(0, len(TOOL)), max_size=4))
def test_a_truncated_stream_always_ends_well_formed(end, cuts):
    data = TOOL[:end]
    _chunks, done, error = openai_stream(translate(data, *[c for c in cuts if c <= end]))
    assert done != (error is not None), "exactly one of [DONE] or an error event ends the stream"
    if error is not None:
        assert error["type"] == "api_error"
        assert error["code"] in ("upstream_stream_truncated", "upstream_bad_response")


def test_a_stream_cut_before_message_delta_is_an_error():
    data = TOOL[: TOOL.index(b"event: message_delta")]
    _chunks, done, error = openai_stream(translate(data))
    assert not done
    assert error["code"] == "upstream_stream_truncated"
    assert "anthropic" in error["message"]


def test_a_stream_cut_after_message_delta_is_complete():
    chunks, done, error = openai_stream(translate(TEXT[: TEXT.index(b"event: message_stop")]))
    assert done and error is None
    assert assemble(chunks)["finish"] == "stop"


def test_malformed_event_ends_with_an_error_and_nothing_after():
    broken = TEXT.replace(b'"text":" there"}}', b'"text":" there"', 1)
    translator = ADAPTER.chat_stream("m", True)
    out = translator.feed(broken) + translator.feed(b"data: {}\n\n") + translator.close()
    chunks, done, error = openai_stream(out)
    assert not done
    assert error["code"] == "upstream_bad_response"
    assert assemble(chunks)["text"] == "Hello"


def test_error_event_becomes_an_openai_error_event():
    chunks, done, error = openai_stream(translate(stream_fixture("anthropic/stream_error.sse")))
    assert not done
    assert assemble(chunks)["text"] == "Hello"
    assert (error["type"], error["code"]) == ("api_error", "overloaded")
    assert error["message"].startswith("Overloaded")


def test_json_mode_tool_streams_as_content():
    data = TOOL.replace(b'"name":"get_weather"', f'"name":"{JSON_TOOL}"'.encode())
    chunks, _done, _ = openai_stream(translate(data))
    result = assemble(chunks)
    assert result["tool_calls"] == []
    assert result["finish"] == "stop"
    assert json.loads(result["text"].removeprefix("I'll check the current weather in Paris for you.")) == {
        "location": "Paris"
    }


def test_unknown_events_and_blocks_are_skipped():
    extra = (
        b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        b'"content_block":{"type":"thinking","thinking":""}}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"thinking_delta","thinking":"hmm"}}\n\n'
        b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
        b'event: brand_new\ndata: {"type":"brand_new","x":1}\n\n'
    )
    at = TEXT.index(b"event: content_block_start")
    chunks, done, _ = openai_stream(translate(TEXT[:at] + extra + TEXT[at:]))
    assert done and assemble(chunks)["text"] == "Hello there!"


def test_crlf_line_endings():
    chunks, done, _ = openai_stream(translate(TEXT.replace(b"\n", b"\r\n")))
    assert done and assemble(chunks)["text"] == "Hello there!"
