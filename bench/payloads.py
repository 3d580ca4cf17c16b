"""The request and response bodies of the OpenAI scenarios: small, fixed and valid."""

from __future__ import annotations

import json

MODEL = "gpt-4o-mini"
CHAT_PATH = "/v1/chat/completions"

CHAT_REQUEST = json.dumps(
    {"model": MODEL, "messages": [{"role": "user", "content": "Hello!"}]}, separators=(",", ":")
)
STREAM_REQUEST = json.dumps(
    {"model": MODEL, "messages": [{"role": "user", "content": "Hello!"}], "stream": True},
    separators=(",", ":"),
)

# What OpenAI answers to CHAT_REQUEST, trimmed of nothing: every field the SDKs read is here.
CHAT_RESPONSE = json.dumps(
    {
        "id": "chatcmpl-bench0000000000000000000000",
        "object": "chat.completion",
        "created": 1735689600,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello! How can I help you today?",
                    "refusal": None,
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 9,
            "total_tokens": 18,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_bench",
    },
    separators=(",", ":"),
)

# The `translate` scenario's upstream: Anthropic's Messages API answering CHAT_REQUEST as
# translated by aigw (the shape of https://docs.anthropic.com/en/api/messages).
MESSAGES_PATH = "/v1/messages"
ANTHROPIC_MODEL = "claude-3-5-haiku-20241022"
MESSAGES_RESPONSE = json.dumps(
    {
        "id": "msg_bench00000000000000000000",
        "type": "message",
        "role": "assistant",
        "model": ANTHROPIC_MODEL,
        "content": [{"type": "text", "text": "Hello! How can I help you today?"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 9,
            "output_tokens": 12,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    },
    separators=(",", ":"),
)


# The `exhaustion` scenario's 429: OpenAI's rate-limit error, as its API sends it.
def rate_limited(reset_ms: int) -> str:
    message = (
        f"Rate limit reached for {MODEL} in organization org-bench on requests per min (RPM): "
        f"Limit 500, Used 500, Requested 1. Please try again in {reset_ms}ms. Visit "
        "https://platform.openai.com/account/rate-limits to learn more."
    )
    error = {"message": message, "type": "requests", "param": None, "code": "rate_limit_exceeded"}
    return json.dumps({"error": error}, separators=(",", ":"))
