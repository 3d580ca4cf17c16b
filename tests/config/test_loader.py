"""Loading a config: environment values, the typed result, and every problem at once with its path."""

import pytest

from gateway.config import ConfigError, load_config, parse_config
from gateway.config.observability import CaptureConfig
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


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={} if env is None else env)
    return info.value.problems


def test_bundled_quickstart_is_valid_and_uses_the_mock():
    cfg = load_config()
    assert {p.type for p in cfg.providers} == {"mock"}
    assert [t.name for t in cfg.tenants] == ["default"]


def test_environment_values_are_substituted():
    cfg = parse_config(VALID, env={"TEST_OPENAI_KEY": "sk-from-env"})
    assert cfg.providers[0].keys[0].value == "sk-from-env"


def test_defaults_apply_with_colon_dash():
    cfg = parse_config(VALID.replace("${TEST_OPENAI_KEY}", "${TEST_OPENAI_KEY:-sk-default}"), env={})
    assert cfg.providers[0].keys[0].value == "sk-default"


def test_an_unset_variable_is_one_problem_not_two():
    # The empty value it leaves would break the key's own rule too; only the cause is reported.
    assert problems(VALID) == ["providers[0].keys[0].value: environment variable TEST_OPENAI_KEY is not set"]


# One file with mistakes of every kind: each must be named, with its path, in one report.
MANY_MISTAKES = """
server: {port: 9000, admin_port: 9000, workers: -1}
colour: red
providers:
  - name: a
    type: openaix
    keys: [{id: k, value: v}]
    timeout_s: 0
  - name: b
    type: openai
    base_url: ftp://example.com
    keys: [{id: 7}]
    anthropic: {version: "2023-06-01"}
    headers: {"Bad Header": x}
  - name: b
    type: anthropic
    base_url: https://api.anthropic.com
    keys: [{id: k, value: v}, {id: k, value: w}]
    anthropic: {json_mode: yaml}
    key_limits: [{requests: 60, tokens: 1000}]
  - name: c
    type: openai_compatible
    openai_compatible: {stream_usage: sometimes}
    keys: []
model_groups:
  - name: m
    deployments: [{provider: nowhere, weight: 0}]
    fallbacks: [ghost]
    max_attempts: 0
  - name: m
    deployments: []
tenants:
  - name: t
    apps: [{name: a, models: [m, ghost]}, {name: a}]
    budgets: [{tokens: 5, per: day}, {tokens: 6, per: day}, {cost_usd: 100000000, per: month}]
events: {webhooks: [mailto:ops@example.com], pool_low_headroom: 2}
"""

EXPECTED = {
    # the schema: unknown fields, wrong types, missing fields, bounds, patterns, a type's own rules
    "colour": "unknown field",
    "server.workers": ">= 0",
    "providers[0].type": "'openaix' is not one of openai, openai_compatible",
    "providers[0].timeout_s": "> 0.0",
    "providers[1].base_url": "must be an http:// or https:// URL",
    "providers[1].keys[0].id": "Expected `str`, got `int`",
    "providers[1].keys[0].value": "required field is missing",
    "providers[1].anthropic": "unknown field",
    "providers[1].headers.Bad Header": "must be an HTTP header name",
    "providers[2].anthropic.json_mode": "Invalid enum value 'yaml'",
    "providers[2].key_limits[0]": "give exactly one of requests or tokens",
    "providers[3].base_url": "required field is missing",
    "providers[3].keys": "length >= 1",
    "providers[3].openai_compatible.stream_usage": "Expected `bool`, got `str`",
    "model_groups[0].deployments[0].weight": ">= 1",
    "model_groups[0].max_attempts": ">= 1",
    "model_groups[1].deployments": "length >= 1",
    "tenants[0].budgets[2].cost_usd": "<= 70368744",
    "events.webhooks[0]": "must be an http:// or https:// URL",
    "events.pool_low_headroom": "<= 1.0",
    # the references: names given twice, names that refer to nothing, ports that clash
    "server.admin_port": "must differ from server.port",
    "providers[2].name": "duplicate provider name 'b'",
    "providers[2].keys[1].id": "duplicate key id 'k'",
    "model_groups[1].name": "duplicate model group 'm'",
    "model_groups[0].deployments[0].provider": "unknown provider 'nowhere'",
    "model_groups[0].fallbacks[0]": "not another model group: 'ghost'",
    "tenants[0].apps[1].name": "duplicate app 'a'",
    "tenants[0].apps[0].models[1]": "unknown model group 'ghost'",
    "tenants[0].budgets[1]": "a second tokens budget per day",
}


def test_every_problem_is_reported_at_once_with_its_path():
    found = problems(MANY_MISTAKES)
    by_path = dict(problem.split(": ", 1) for problem in found)
    for path, fragment in EXPECTED.items():
        assert fragment in by_path.get(path, ""), (path, found)
    assert len(found) == len(EXPECTED), found


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
        "model_groups: [{name: m, deployments: [{provider: p}]}]\n",
        env={},
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
        "providers[1].anthropic: unknown field (allowed: base_url, ca_bundle, client_cert, client_key, "
        "connect_timeout_s, dns_ttl_s, headers, invalid_probe_interval_s, key_limits, keys, limiter, "
        "max_connections, max_response_bytes, name, probe_interval_s, proxy, timeout_s)",
    ]
    cfg = parse_config(
        "providers: [{name: c, type: openai_compatible, base_url: http://vllm:8000/v1,"
        " keys: [{id: k, value: v}], openai_compatible: {stream_usage: false}}]\n"
        "model_groups: [{name: m, deployments: [{provider: c}]}]\n",
        env={},
    )
    assert cfg.providers[0].options.stream_usage is False


def test_a_groups_capture_section_takes_the_defaults_it_does_not_give():
    cfg = parse_config(VALID + "    capture: {enabled: true}\n", env={"TEST_OPENAI_KEY": "sk"}).model_groups[
        0
    ]
    assert cfg.capture == CaptureConfig(enabled=True)


def test_secrets_never_appear_in_a_repr():
    cfg = parse_config(VALID, env={"TEST_OPENAI_KEY": "sk-very-secret-value"})
    assert "sk-very-secret-value" not in repr(cfg)


def test_not_yaml_is_one_clear_problem():
    assert problems("providers: [")[0].startswith("not valid YAML")


def test_not_a_mapping_is_one_clear_problem():
    assert problems("- just\n- a list\n") == ["(top level): expected a mapping, got a list"]


def test_egress_files_are_relative_to_the_config_and_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-test")
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "not-a-ca.pem").write_text("not PEM at all\n")
    config = tmp_path / "aigw.yaml"
    egress = "    proxy: http://proxy.internal:3128\n    dns_ttl_s: 5\n"
    config.write_text(VALID.replace("    keys:\n", egress + "    ca_bundle: certs/missing.pem\n    keys:\n"))
    with pytest.raises(ConfigError) as missing:
        load_config(config)
    assert missing.value.problems == [
        f"providers[0]: cannot read {tmp_path / 'certs' / 'missing.pem'}: No such file or directory"
    ]
    config.write_text(VALID.replace("    keys:\n", egress + "    ca_bundle: certs/not-a-ca.pem\n    keys:\n"))
    with pytest.raises(ConfigError, match=r"not-a-ca.pem: not a PEM bundle of CA certificates"):
        load_config(config)
    config.write_text(VALID.replace("    keys:\n", egress + "    keys:\n"))
    provider = load_config(config).providers[0]
    assert (provider.egress().proxy, provider.egress().dns_ttl_s) == ("http://proxy.internal:3128", 5.0)


def test_a_proxy_must_be_an_http_url_or_direct():
    text = VALID.replace("    keys:\n", "    proxy: socks5://proxy:1080\n    keys:\n")
    assert problems(text, {"TEST_OPENAI_KEY": "sk"}) == [
        "providers[0].proxy: must be an http:// URL or `direct`",
    ]
