"""The capability table: what `aigw models sync --from FILE` takes from LiteLLM's catalogue."""

from __future__ import annotations

import json
import subprocess
import sys

from gateway.models.catalog import TABLE, Capabilities, read, shipped
from gateway.models.sync import from_litellm

CATALOGUE = {
    "sample_spec": {"mode": "one of: chat, embedding, …"},
    "gpt-4o": {
        "litellm_provider": "openai",
        "mode": "chat",
        "max_output_tokens": 16384,
        "supports_function_calling": True,
        "supports_vision": True,
    },
    "o3": {
        "litellm_provider": "openai",
        "mode": "chat",
        "supports_reasoning": True,
        "max_output_tokens": 100000,
    },
    "claude-opus-4-7": {
        "litellm_provider": "anthropic",
        "mode": "chat",
        "max_output_tokens": 128000,
        "supports_sampling_params": False,
        "supports_function_calling": True,
    },
    "gemini/gemini-2.5-flash": {"litellm_provider": "gemini", "mode": "chat", "max_output_tokens": 65536},
    "gemini-2.5-flash": {"litellm_provider": "vertex_ai-language-models", "mode": "chat"},  # not the API
    "azure/gpt-4o": {"litellm_provider": "azure", "mode": "chat"},
    "text-embedding-3-small": {"litellm_provider": "openai", "mode": "embedding"},
}


def test_sync_takes_the_chat_models_of_the_apis_aigw_speaks():
    models = from_litellm(CATALOGUE)
    assert sorted(models) == ["claude-opus-4-7", "gemini-2.5-flash", "gpt-4o", "o3"]
    assert models["gpt-4o"].max_output_tokens == 16384 and models["gpt-4o"].vision
    assert not models["claude-opus-4-7"].sampling  # the catalogue says so
    assert not models["o3"].sampling  # OpenAI's reasoning models: aigw's own rule
    assert models["gemini-2.5-flash"].provider == "gemini"


def test_aigw_models_sync_writes_the_table_and_says_what_changed(tmp_path):
    source = tmp_path / "model_prices_and_context_window.json"
    source.write_text(json.dumps(CATALOGUE))
    output = tmp_path / "capabilities.json"
    run = [sys.executable, "-m", "gateway", "models", "sync", "--from", str(source), "--output", str(output)]
    done = subprocess.run(run, capture_output=True, text=True, check=True)
    assert "4 models" in done.stdout and "added 4" in done.stdout
    table = read(output)
    assert table.catalogue.licence == "MIT" and table.catalogue.version == source.name
    assert Capabilities(table).of("gpt-4o-2024-08-06") == table.models["gpt-4o"]
    CATALOGUE["gpt-4o"]["max_output_tokens"] = 32768
    source.write_text(json.dumps(CATALOGUE))
    again = subprocess.run(run, capture_output=True, text=True, check=True)
    assert "changed 1: gpt-4o" in again.stdout


def test_the_shipped_table_names_its_catalogue_and_knows_the_common_models():
    table = read(TABLE)
    assert table.catalogue.name.startswith("LiteLLM") and table.catalogue.licence == "MIT"
    for model in ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "claude-haiku-4-5", "gemini-2.5-flash"):
        assert shipped().of(model) is not None, model
    assert shipped().of("some-local-model") is None
