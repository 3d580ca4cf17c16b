"""What each target does with a caller's parameters: pass, drop (reported), refuse with the range,
or clamp when the group asks — by its API version and by the model's capabilities."""

from __future__ import annotations

import json

import pytest

from gateway.models.catalog import shipped
from gateway.models.params import OPENAI_API, ParamError, ParamRules
from gateway.providers import adapter_for
from gateway.providers.canonical import decode_chat

HELLO = [{"role": "user", "content": "hello"}]


def request(**fields):
    messages = fields.pop("messages", HELLO)
    return decode_chat(json.dumps({"model": "m", "messages": messages, **fields}).encode())


def rules(provider: str, model: str, **options) -> ParamRules:
    api = OPENAI_API if provider == "openai" else adapter_for(provider, options).accepted_params()
    return ParamRules(api, model, shipped().of(model))


def test_anthropics_current_version_takes_no_sampling_parameter_so_they_are_dropped():
    review = rules("anthropic", "claude-sonnet-4-5").review(request(temperature=0.2, top_k=5), False)
    assert review.changes == {"temperature": None, "top_k": None}
    assert review.headers() == [("x-aigw-dropped-params", "temperature, top_k")]


def test_the_older_version_takes_them_within_anthropics_range_and_refuses_the_rest():
    older = rules("anthropic", "claude-sonnet-4-5", api_version="2023-06-01")
    assert older.review(request(temperature=0.7, top_p=0.9, top_k=5), False).changes == {}
    with pytest.raises(ParamError) as refused:
        older.review(request(temperature=1.5), False)  # fine for OpenAI (0-2), not for Anthropic
    assert refused.value.param == "temperature"
    assert "between 0 and 1" in refused.value.message and "anthropic API 2023-06-01" in refused.value.message
    clamped = older.review(request(temperature=1.5), clamp=True)
    assert clamped.changes == {"temperature": 1.0} and clamped.clamped == ("temperature",)
    assert clamped.headers() == [("x-aigw-clamped-params", "temperature")]


@pytest.mark.parametrize(
    ("provider", "model", "options"),
    [
        ("anthropic", "claude-opus-4-7", {"api_version": "2023-06-01"}),  # the model takes none
        ("openai", "o3", {}),  # a reasoning model
        ("openai", "gpt-5-2025-08-07", {}),  # a dated snapshot finds its model
    ],
)
def test_a_model_that_takes_no_sampling_parameter_gets_none(provider, model, options):
    review = rules(provider, model, **options).review(request(temperature=0.5, top_p=0.5), False)
    assert review.dropped == ("temperature", "top_p")


def test_max_tokens_over_the_models_output_limit_is_refused_or_clamped():
    gpt = rules("openai", "gpt-4o")
    assert gpt.review(request(max_tokens=16384), False).changes == {}
    with pytest.raises(ParamError, match="'max_completion_tokens' must be at most 16384"):
        gpt.review(request(max_completion_tokens=20000), False)
    assert gpt.review(request(max_tokens=20000), True).changes == {"max_tokens": 16384}


def test_gemini_ranges_and_openai_compatible_extensions():
    with pytest.raises(ParamError, match="'top_k' must be at least 1"):
        rules("gemini", "gemini-2.5-flash").review(request(top_k=0), False)
    # A model the table does not know, on an OpenAI-compatible server: top_k passes, untouched.
    assert rules("openai", "llama-3.1-70b-instruct").review(request(top_k=40), False).changes == {}
    # Azure refuses what OpenAI's API does not define.
    assert rules("azure", "gpt-4o").review(request(top_k=40), False).dropped == ("top_k",)


def test_tools_and_images_for_a_model_without_them_are_refused():
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]
    with pytest.raises(ParamError, match="takes no images") as refused:
        rules("openai", "gpt-3.5-turbo").review(request(messages=image), False)
    assert refused.value.code == "unsupported_parameter"
    assert rules("openai", "gpt-4o").review(request(messages=image), False).changes == {}
