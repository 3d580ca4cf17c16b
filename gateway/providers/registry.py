"""The provider types a config may name, each as `"module:attr"` strings loaded on first use.

Adding a provider is one module (its adapter and, if it takes any, its options Struct) and one
entry here: the config schema builds its `providers[]` variants from this table, the docs list
the types from it, and the data plane imports an adapter only for the types it serves. This
module imports nothing of aigw, so any layer may read it.
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple


class ProviderType(NamedTuple):
    # The adapter class, called with the provider's options section (gateway/providers/base.py).
    adapter: str
    # One line for docs/configuration.md: what the type reaches and how.
    summary: str
    # The Struct of the type's own config section, the field named after the type ("": none).
    options: str = ""
    # Speaks OpenAI's format as it is: the data plane sends the caller's bytes, with no adapter.
    passthrough: bool = False
    # False only for the mock, which `aigw serve` starts and whose URL it knows.
    needs_base_url: bool = True
    # What its answers say about a key's rate limits, and its limiter's default
    # (gateway/keypool/provider_limits.py).
    rate_limits: str = "gateway.keypool.provider_limits:OPENAI"


_OPENAI = "gateway.providers.openai_compat:OpenAICompatAdapter"

REGISTRY: dict[str, ProviderType] = {
    "openai": ProviderType(
        _OPENAI,
        "any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp, Groq, DeepSeek, Together, "
        "Mistral…): the caller's bytes are passed through, only `model` is rewritten",
        passthrough=True,
    ),
    "openai_compatible": ProviderType(
        _OPENAI,
        "an OpenAI-compatible server reached through the adapter: requests are decoded and "
        "encoded again, and streams ask for the usage chunk so token limits, budgets and costs "
        "count what the server reports even when the caller did not ask for usage",
        "gateway.providers.openai_compat:OpenAIOptions",
    ),
    "azure": ProviderType(
        "gateway.providers.azure:AzureAdapter",
        "Azure OpenAI: OpenAI's format at deployment URLs, with an `api-key` header",
        "gateway.providers.azure:AzureOptions",
    ),
    "anthropic": ProviderType(
        "gateway.providers.anthropic:AnthropicAdapter",
        "the Anthropic Messages API, translated to and from OpenAI's format",
        "gateway.providers.anthropic:AnthropicOptions",
        rate_limits="gateway.keypool.provider_limits:ANTHROPIC",
    ),
    "gemini": ProviderType(
        "gateway.providers.gemini:GeminiAdapter",
        "the Gemini API (generateContent), translated to and from OpenAI's format",
        "gateway.providers.gemini:GeminiOptions",
        rate_limits="gateway.keypool.provider_limits:GEMINI",
    ),
    "mock": ProviderType(
        _OPENAI,
        "a local mock OpenAI provider that `aigw serve` starts itself (for trying aigw and for tests)",
        "gateway.mock.options:MockOptions",
        passthrough=True,
        needs_base_url=False,
    ),
}


def load(target: str) -> Any:
    """`"module:attr"` -> the attribute, importing its module."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)
