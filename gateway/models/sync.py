"""`aigw models sync --from FILE`: the capability table (capabilities.json) from LiteLLM's
`model_prices_and_context_window.json` (MIT licence: https://github.com/BerriAI/litellm), the
catalogue LiteLLM publishes and ships in its package.

What is taken, for the chat models of OpenAI, Anthropic and Gemini (the providers whose APIs aigw
speaks; OpenAI's models also serve Azure and OpenAI-compatible deployments of them):
`max_output_tokens`, `supports_function_calling` (tools), `supports_vision` and
`supports_sampling_params` (false: no sampling parameter). One rule is aigw's own, from OpenAI's
documentation, because the catalogue does not mark it: OpenAI's reasoning models
(`supports_reasoning`) take no sampling parameter, except their chat variants.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import msgspec

from .catalog import TABLE, Catalogue, ModelCapabilities, Table

NAME = "LiteLLM model_prices_and_context_window.json"
LICENCE = "MIT"
COPYRIGHT = "Copyright (c) 2023 Berri AI"
URL = "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json"
# LiteLLM's provider names for the APIs aigw speaks, and the prefix its keys carry for them.
PROVIDERS = {"openai": "", "anthropic": "", "gemini": "gemini/"}


def from_litellm(doc: dict[str, Any]) -> dict[str, ModelCapabilities]:
    models = {}
    for key, entry in doc.items():
        if not isinstance(entry, dict) or entry.get("mode") != "chat":
            continue
        provider = str(entry.get("litellm_provider"))
        prefix = PROVIDERS.get(provider)
        if prefix is None or not key.startswith(prefix) or "/" in key[len(prefix) :]:
            continue
        name = key[len(prefix) :]
        sampling = entry.get("supports_sampling_params", True) is not False
        if provider == "openai" and entry.get("supports_reasoning") and "chat" not in name:
            sampling = False  # https://platform.openai.com/docs/guides/reasoning
        max_output = entry.get("max_output_tokens")
        models[name] = ModelCapabilities(
            provider=provider,
            max_output_tokens=max_output if isinstance(max_output, int) and max_output > 0 else None,
            tools=bool(entry.get("supports_function_calling")),
            vision=bool(entry.get("supports_vision")),
            sampling=sampling,
        )
    return dict(sorted(models.items()))


def sync(source: Path, output: Path = TABLE, version: str | None = None) -> Table:
    """Write the table read from `source` to `output`; returns it."""
    doc = json.loads(source.read_bytes())
    models = from_litellm(doc)
    if not models:
        raise ValueError(f"{source}: no chat model of OpenAI, Anthropic or Gemini in it: not {NAME}?")
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    table = Table(Catalogue(NAME, LICENCE, COPYRIGHT, URL, version or source.name, today), models)
    output.write_bytes(msgspec.json.format(msgspec.json.encode(table), indent=1) + b"\n")
    return table
