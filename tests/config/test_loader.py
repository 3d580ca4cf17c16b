"""Loading a config: environment values, the typed result, and every problem with its path."""

import pytest

from gateway.config import ConfigError, load_config, parse_config
from gateway.providers.registry import REGISTRY, load

VALID = """
providers:
  - name: openai
    type: openai
    base_url: https://api.openai.com/v1
    keys:
      - id: k1
        value: ${TEST_OPENAI_KEY}
model_groups:
  - name: gpt-4o-mini
    deployments: [{provider: openai}]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return info.value.problems


def test_bundled_quickstart_is_valid_and_uses_the_mock():
    cfg = load_config()
    assert {p.type for p in cfg.providers} == {"mock"}
    assert [t.name for t in cfg.tenants] == ["default"]


def test_environment_values_are_substituted(monkeypatch):
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-from-env")
    cfg = parse_config(VALID)
    assert cfg.providers[0].keys[0].value == "sk-from-env"


def test_defaults_apply_with_colon_dash(monkeypatch):
    monkeypatch.delenv("TEST_OPENAI_KEY", raising=False)
    cfg = parse_config(VALID.replace("${TEST_OPENAI_KEY}", "${TEST_OPENAI_KEY:-sk-default}"))
    assert cfg.providers[0].keys[0].value == "sk-default"


def test_every_problem_is_reported_with_its_path(monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    found = problems(
        """
providers:
  - name: a
    type: openaix
    keys: [{id: k, value: "${NOT_SET_ANYWHERE}"}]
  - name: b
    type: openai
    base_url: http://x
    keys: [{id: 7}]
    colour: blue
model_groups: []
server: {port: "eighty"}
"""
    )
    assert "providers[0].keys[0].value: environment variable NOT_SET_ANYWHERE is not set" in found
    assert any(p.startswith("providers[1].colour: unknown field") for p in found)
    assert any(p.startswith("providers[0].type: 'openaix' is not one of openai,") for p in found)
    assert "providers[1].keys[0].id: Expected `str`, got `int`" in found
    assert "providers[1].keys[0].value: required field is missing" in found
    assert "server.port: Expected `int`, got `str`" in found


def test_cross_references_are_checked():
    found = problems(
        """
providers:
  - {name: p, type: openai, base_url: http://x, keys: [{id: k, value: v}, {id: k, value: w}]}
model_groups:
  - name: m
    deployments: [{provider: nowhere}]
tenants:
  - name: t
    apps: [{name: a, models: [m, ghost]}]
"""
    )
    assert found == [
        "providers[0].keys[1].id: duplicate key id 'k'",
        "model_groups[0].deployments[0].provider: unknown provider 'nowhere'",
        "tenants[0].apps[0].models[1]: unknown model group 'ghost'",
    ]


def test_secrets_never_appear_in_a_repr(monkeypatch):
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-very-secret-value")
    cfg = parse_config(VALID)
    assert "sk-very-secret-value" not in repr(cfg)


def test_not_yaml_is_one_clear_problem():
    assert problems("providers: [")[0].startswith("not valid YAML")


def test_configured_key_limits_are_checked_where_they_are():
    found = problems(
        """
providers:
  - name: p
    type: openai
    base_url: http://x
    key_limits: [{requests: 60, tokens: 1000}]
    keys: [{id: k, value: v, limits: [{requests: 0, per: day}]}]
model_groups:
  - {name: m, deployments: [{provider: p}]}
"""
    )
    assert found == [
        "providers[0].keys[0].limits[0].requests: Expected `int` >= 1",
        "providers[0].key_limits[0]: give exactly one of requests or tokens",
    ]


def test_bounds_in_the_schema_are_each_reported_with_their_path(monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    found = problems(
        """
server: {workers: -1, max_body_bytes: 100}
providers:
  - name: p
    type: openai
    base_url: ftp://example.com
    keys: [{id: k, value: "${NOT_SET_ANYWHERE}"}]
    headers: {"Bad Header": x, X-Ok: "two\\nlines"}
    timeout_s: 0
model_groups:
  - {name: m, deployments: [], max_attempts: 0}
events: {webhooks: [mailto:ops@example.com], pool_low_headroom: 2}
"""
    )
    assert found == [
        # the empty value an unset variable leaves is reported once, as unset
        "providers[0].keys[0].value: environment variable NOT_SET_ANYWHERE is not set",
        "server.workers: Expected `int` >= 0",
        "server.max_body_bytes: Expected `int` >= 1024",
        "providers[0].base_url: must be an http:// or https:// URL",
        "providers[0].headers.Bad Header: must be an HTTP header name",
        "providers[0].headers.X-Ok: must be a single line",
        "providers[0].timeout_s: Expected `float` > 0.0",
        "model_groups[0].deployments: Expected `array` of length >= 1",
        "model_groups[0].max_attempts: Expected `int` >= 1",
        "events.webhooks[0]: must be an http:// or https:// URL",
        "events.pool_low_headroom: Expected `float` <= 1.0",
    ]


def test_a_type_that_is_not_registered_still_has_its_other_fields_checked():
    found = problems("providers: [{type: bedrock, name: 5, keys: [{id: k}]}]\nmodel_groups: []\n")
    types = ", ".join(REGISTRY)
    assert found == [
        f"providers[0].type: 'bedrock' is not one of {types}",
        "providers[0].name: Expected `str`, got `int`",
        "providers[0].keys[0].value: required field is missing",
    ]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_type_can_be_configured(name):
    registered = REGISTRY[name]
    base_url = "base_url: https://provider.example/v1, " if registered.needs_base_url else ""
    cfg = parse_config(
        f"providers: [{{name: p, type: {name}, {base_url}keys: [{{id: k, value: v}}]}}]\n"
        "model_groups: [{name: m, deployments: [{provider: p}]}]\n"
    )
    provider = cfg.providers[0]
    assert provider.type == name
    if registered.options:  # its section, typed, with the defaults when not given
        assert provider.options == load(registered.options)()
    else:
        assert provider.options is None


def test_a_type_takes_its_own_options_and_no_other_types():
    found = problems(
        """
providers:
  - {name: a, type: openai_compatible, keys: [{id: k, value: v}], openai_compatible: {stream_usage: 1}}
  - {name: b, type: openai, base_url: http://x, keys: [{id: k, value: v}], anthropic: {}}
model_groups: []
"""
    )
    assert found == [
        "providers[0].base_url: required field is missing",
        "providers[0].openai_compatible.stream_usage: Expected `bool`, got `int`",
        "providers[1].anthropic: unknown field (allowed: base_url, connect_timeout_s, headers, "
        "invalid_probe_interval_s, key_limits, keys, max_connections, name, probe_interval_s, timeout_s)",
    ]
    cfg = parse_config(
        "providers: [{name: c, type: openai_compatible, base_url: http://vllm:8000/v1,"
        " keys: [{id: k, value: v}], openai_compatible: {stream_usage: false}}]\n"
        "model_groups: [{name: m, deployments: [{provider: c}]}]\n"
    )
    assert cfg.providers[0].options.stream_usage is False
