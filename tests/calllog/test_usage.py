from __future__ import annotations

from gateway.calllog.usage import openai_usage


def test_usage_of_a_chat_completion_with_cached_tokens():
    body = (
        b'{"id":"chatcmpl-1","choices":[{"message":{"content":"the usage: {\\"usage\\": 1}"}}],'
        b'"usage":{"prompt_tokens":1200,"completion_tokens":85,"total_tokens":1285,'
        b'"prompt_tokens_details":{"cached_tokens":1024},"completion_tokens_details":{"reasoning_tokens":0}}}'
    )
    assert openai_usage(body) == (1200, 85, 1024)


def test_usage_of_embeddings_and_of_streams():
    assert openai_usage(b'{"data":[],"usage":{"prompt_tokens": 8, "total_tokens": 8}}') == (8, 0, 0)
    assert openai_usage(b'data: {"choices":[{"delta":{"content":"hi"}}],"usage":null}\n\n') is None
    last = b'data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}\n\n'
    assert openai_usage(last) == (9, 12, 0)
    assert openai_usage(b'{"choices":[]}') is None
