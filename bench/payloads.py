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
