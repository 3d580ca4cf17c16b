"""Every failure answers in OpenAI's error format, with the right status, no traceback, no secret."""

import json

import openai
import pytest

from .conftest import Gateway, free_port

ERRORS_YAML = """
  - name: unreachable
    type: openai
    base_url: http://127.0.0.1:{dead_port}/v1
    keys: [{{id: dead-key, value: sk-unreachable-secret}}]
  - name: slow
    type: mock
    timeout_s: 0.3
    mock: {{latency_ms: 3000}}
    keys: [{{id: slow-key, value: sk-slow-secret}}]
model_groups:
  - name: gpt-4o-mini
    deployments: [{{provider: mock}}]
  - name: dead-model
    deployments: [{{provider: unreachable, model: gpt-4o-mini}}]
  - name: slow-model
    deployments: [{{provider: slow, model: gpt-4o-mini}}]
tenants:
  - name: default
    apps: [{{name: demo}}]
"""

SECRETS = ("sk-mock-secret-1", "sk-mock-secret-2", "sk-unreachable-secret", "sk-slow-secret")


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gw = Gateway(
        tmp_path_factory.mktemp("errors"),
        ERRORS_YAML.format(dead_port=free_port()),
        server_yaml="max_body_bytes: 4096",
    )
    gw.keys["demo"] = gw.new_key()
    gw.start()
    yield gw
    assert gw.stop() == 0


@pytest.fixture(scope="module")
def key(gw):
    return gw.keys["demo"]


def check_error(response, status, code, param=None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    assert error["param"] == param
    assert error["message"] and "Traceback" not in response.text
    for secret in SECRETS:
        assert secret not in response.text
    return error


def post(http, gw, key, body, **headers):
    if key:
        headers["Authorization"] = f"Bearer {key}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(gw.base_url + "/v1/chat/completions", content=content, headers=headers)


HELLO = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def test_malformed_json_is_400(gw, key, http):
    check_error(post(http, gw, key, b'{"model": "gpt-4o-mini",'), 400, "invalid_json")


def test_schema_violation_is_400_naming_the_field(gw, key, http):
    e = check_error(
        post(http, gw, key, {"model": "gpt-4o-mini", "messages": "hi"}), 400, "invalid_request", "messages"
    )
    assert "messages" in e["message"]
    check_error(post(http, gw, key, {"messages": HELLO["messages"]}), 400, "invalid_request", "model")
    bad_role = {"model": "gpt-4o-mini", "messages": [{"role": "wizard", "content": "x"}]}
    check_error(post(http, gw, key, bad_role), 400, "invalid_request", "messages[0].role")
    check_error(post(http, gw, key, {**HELLO, "temperature": 7}), 400, "invalid_request", "temperature")
    check_error(post(http, gw, key, {**HELLO, "messages": []}), 400, "invalid_request", "messages")


def test_missing_and_invalid_keys_are_401(gw, http):
    check_error(post(http, gw, None, HELLO), 401, "missing_api_key")
    check_error(post(http, gw, "aigw-not-a-real-key", HELLO), 401, "invalid_api_key")
    # Auth comes before the body: a bad key with a bad body is still a 401.
    check_error(post(http, gw, "aigw-not-a-real-key", b"{"), 401, "invalid_api_key")


def test_a_bad_key_is_an_authentication_error_in_the_sdk(gw):
    client = openai.OpenAI(base_url=gw.base_url + "/v1", api_key="aigw-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(**HELLO)
    assert info.value.code == "invalid_api_key"


def test_unknown_model_is_404(gw, key, http):
    check_error(post(http, gw, key, {**HELLO, "model": "gpt-9"}), 404, "model_not_found", "model")


def test_unknown_path_is_404_and_wrong_method_405(gw, key, http):
    auth = {"Authorization": f"Bearer {key}"}
    check_error(
        http.post(gw.base_url + "/v1/completions-typo", headers=auth, content=b"{}"), 404, "unknown_url"
    )
    check_error(http.get(gw.base_url + "/v1/chat/completions", headers=auth), 405, "method_not_allowed")


def test_body_over_the_limit_is_413(gw, key, http):
    huge = {**HELLO, "messages": [{"role": "user", "content": "x" * 10_000}]}
    check_error(post(http, gw, key, huge), 413, "request_too_large")


def test_body_over_the_limit_without_content_length_is_413(gw, key, http):
    def chunks():
        yield b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "'
        for _ in range(20):
            yield b"x" * 1000
        yield b'"}]}'

    headers = {"Authorization": f"Bearer {key}"}
    r = http.post(gw.base_url + "/v1/chat/completions", content=chunks(), headers=headers)
    check_error(r, 413, "request_too_large")


def test_unreachable_upstream_is_502(gw, key, http):
    check_error(post(http, gw, key, {**HELLO, "model": "dead-model"}), 502, "upstream_unreachable")


def test_upstream_timeout_is_504(gw, key, http):
    check_error(post(http, gw, key, {**HELLO, "model": "slow-model"}), 504, "upstream_timeout")


def test_gateway_keeps_serving_after_errors(gw, key, http):
    assert post(http, gw, key, HELLO).status_code == 200
