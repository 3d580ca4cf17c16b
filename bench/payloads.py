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

# The headers OpenAI sends with every answer (its rate-limit guide and "Debugging requests"),
# values as its API gives them: the bench's upstream sends them too, so aigw learns each key's
# headroom from every answer, as it does in production, and nginx-as-proxy passes them on.
CHAT_HEADERS = (
    ("openai-organization", "user-bench"),
    ("openai-processing-ms", "412"),
    ("openai-project", "proj_bench"),
    ("openai-version", "2020-10-01"),
    ("x-ratelimit-limit-requests", "10000"),
    ("x-ratelimit-limit-tokens", "30000000"),
    ("x-ratelimit-remaining-requests", "9999"),
    ("x-ratelimit-remaining-tokens", "29999990"),
    ("x-ratelimit-reset-requests", "6ms"),
    ("x-ratelimit-reset-tokens", "0s"),
    ("x-request-id", "req_bench0123456789abcdef01234567"),
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
# Anthropic's headers on every answer (its rate-limits page): resets are RFC 3339 times.
MESSAGES_HEADERS = (
    ("anthropic-ratelimit-requests-limit", "4000"),
    ("anthropic-ratelimit-requests-remaining", "3999"),
    ("anthropic-ratelimit-requests-reset", "2026-01-01T00:00:00Z"),
    ("anthropic-ratelimit-tokens-limit", "400000"),
    ("anthropic-ratelimit-tokens-remaining", "399990"),
    ("anthropic-ratelimit-tokens-reset", "2026-01-01T00:00:00Z"),
    ("request-id", "req_bench0123456789abcdef0123"),
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
