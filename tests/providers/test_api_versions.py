"""Translation per API version: the request aigw builds for each target, validated against that
version's documented schema (the installed SDKs' own types), with what the version does not take
dropped and reported, and what is out of its range refused with the range in the message.

Each request goes through what the data plane runs for a target: its parameter rules
(gateway/models/params.py), then its adapter."""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec
import pydantic
import pytest
from anthropic.types import message_create_params

from gateway.models.catalog import shipped
from gateway.models.params import OPENAI_API, ParamError, ParamRules
from gateway.providers import adapter_for
from gateway.providers.canonical import ChatRequest

from .helpers import (
    chat_request,
    validate_anthropic_request,
    validate_gemini_request,
    validate_openai_request,
)

DEFAULT = "openai/request_default.json"
SAMPLED = {"temperature": 0.7, "top_p": 0.9, "top_k": 5, "stop": [" ", "END"]}


class LegacyMessageCreateParams(message_create_params.MessageCreateParamsNonStreaming, total=False):
    """API version 2023-06-01: the installed SDK's (2026-10-21) request, and the sampling
    parameters that version documents (https://docs.anthropic.com/en/api/messages)."""

    temperature: Annotated[float, pydantic.Field(ge=0, le=1)]
    top_p: Annotated[float, pydantic.Field(ge=0, le=1)]
    top_k: Annotated[int, pydantic.Field(ge=0)]


_LEGACY = pydantic.TypeAdapter(tuple[LegacyMessageCreateParams], config=pydantic.ConfigDict(extra="forbid"))


def legacy_request(body: bytes) -> dict[str, Any]:
    return dict(_LEGACY.validate_python((json.loads(body),))[0])


def built(provider: str, model: str, request: ChatRequest, **options: Any) -> tuple[bytes, tuple[str, ...]]:
    """(the body sent, the parameters dropped) for `request` at `provider` serving `model`."""
    adapter = adapter_for(provider, options) if provider != "openai" else None
    api = OPENAI_API if adapter is None else adapter.accepted_params()
    review = ParamRules(api, model, shipped().of(model)).review(request, clamp=False)
    request = msgspec.structs.replace(request, **review.changes)
    if adapter is None:  # an OpenAI-format provider: the canonical request as it is
        return msgspec.json.encode(msgspec.structs.replace(request, model=model)), review.dropped
    call = adapter.chat_call(request, model, "https://provider.example")
    return call.body, review.dropped + call.dropped


def test_anthropic_2026_10_21_gets_no_sampling_parameter():
    body, dropped = built("anthropic", "claude-sonnet-4-5", chat_request(DEFAULT, **SAMPLED))
    doc = validate_anthropic_request(body)  # the installed SDK's schema: no sampling parameters
    assert doc["stop_sequences"] == ["END"]
    assert dropped == ("temperature", "top_p", "top_k", "stop")


def test_anthropic_2023_06_01_gets_them_within_its_range():
    request = chat_request(DEFAULT, **SAMPLED)
    body, dropped = built("anthropic", "claude-sonnet-4-5", request, api_version="2023-06-01")
    doc = legacy_request(body)
    assert (doc["temperature"], doc["top_p"], doc["top_k"]) == (0.7, 0.9, 5)
    assert dropped == ("stop",)  # the whitespace-only stop sequence Anthropic refuses
    too_hot = chat_request(DEFAULT, temperature=1.5)
    with pytest.raises(
        ParamError, match=r"'temperature' must be between 0 and 1 .* anthropic API 2023-06-01"
    ):
        built("anthropic", "claude-sonnet-4-5", too_hot, api_version="2023-06-01")
    # A model that takes none gets none, whatever the version.
    _, dropped = built("anthropic", "claude-opus-4-7", request, api_version="2023-06-01")
    assert dropped == ("temperature", "top_p", "top_k", "stop")


def test_openai_gets_what_its_api_defines():
    body, dropped = built("openai", "gpt-4o", chat_request(DEFAULT, **SAMPLED))
    doc = validate_openai_request(body)  # the openai SDK's schema, no extra field
    assert (doc["temperature"], doc["top_p"]) == (0.7, 0.9) and dropped == ("top_k",)
    body, dropped = built("openai", "o3", chat_request(DEFAULT, **SAMPLED))
    assert "temperature" not in validate_openai_request(body) and dropped == ("temperature", "top_p", "top_k")
    with pytest.raises(ParamError, match="'max_tokens' must be at most 16384"):
        built("openai", "gpt-4o", chat_request(DEFAULT, max_tokens=16385))


def test_gemini_gets_them_as_generation_config():
    body, dropped = built("gemini", "gemini-2.5-flash", chat_request(DEFAULT, **SAMPLED))
    config = validate_gemini_request(body)["generationConfig"]
    assert (config["temperature"], config["topP"], config["topK"]) == (0.7, 0.9, 5) and dropped == ()
    with pytest.raises(ParamError, match=r"'top_k' must be at least 1 .* Gemini API v1beta"):
        built("gemini", "gemini-2.5-flash", chat_request(DEFAULT, top_k=0))
