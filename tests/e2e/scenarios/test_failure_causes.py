"""Each reason a pool cannot serve, through a real gateway to an openai SDK caller: the right
status, type and message for the caller, the cause in the call record, and the key's state and
cause in `aigw upstream-keys list` — a dead key is never reported as a rate limit."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.cli.conftest import admin_cli
from tests.cli.test_admin_commands import rows
from tests.e2e.conftest import Gateway, free_port, pool_yaml, start_upstream_mock, stop_upstream_mock

HELLO = [{"role": "user", "content": "hello"}]


def client(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url + "/v1", api_key=gw.keys["demo"], max_retries=0)


def refused(gw: Gateway) -> openai.APIStatusError:
    with client(gw) as sdk, pytest.raises(openai.APIStatusError) as info:
        sdk.chat.completions.create(model="chat", messages=HELLO)
    return info.value


def error(exc: openai.APIStatusError) -> dict[str, str]:
    assert isinstance(exc.body, dict)
    return exc.body


def call_record(gw: Gateway, exc: openai.APIStatusError) -> dict:
    """The call log's record of the refused call (written within the writer's batch interval)."""
    request_id = exc.response.headers["x-request-id"]
    for _ in range(2000):
        calls = gw.admin("GET", "/admin/calls", params={"request_id": request_id}).json()["calls"]
        if calls:
            return calls[0]
    raise AssertionError(f"{request_id} never reached the call log")


def listed(gw: Gateway) -> dict[str, tuple[str, str]]:
    out = admin_cli(gw, "upstream-keys", "list")
    assert out.returncode == 0, out.stderr
    keys = {r["provider/key"]: (r["state"], r["cause"]) for r in rows(out.stdout)}
    return {name: state for name, state in keys.items() if name.startswith("upstream/")}


@pytest.fixture
def mock() -> Iterator[str]:
    # Knows key-a and key-b; answers 401 to any other key, and 429 past 1 request a minute. Without
    # x-ratelimit-* headers (as many servers): only a 429 tells aigw a key is used up, so a second
    # request reaches the mock (with them, aigw would not send it: tests/e2e/scenarios/test_limiters.py).
    proc, url = start_upstream_mock(
        "--key", "key-a=sk-key-a", "--key", "key-b=sk-key-b", "--rpm", "1", "--no-limit-headers"
    )
    yield url
    stop_upstream_mock(proc)


def gateway(tmp_path, upstream: str, *key_ids: str, values: dict[str, str] | None = None) -> Gateway:
    config = pool_yaml(upstream, *key_ids)
    for key, value in (values or {}).items():
        config = config.replace(f"value: sk-{key}}}", f"value: {value}}}")
    gw = Gateway(tmp_path, config)
    gw.keys["demo"] = gw.new_key()
    return gw.start()


def test_a_wrong_provider_key_is_an_auth_failure_not_a_rate_limit(tmp_path, mock):
    gw = gateway(tmp_path, mock, "key-a", values={"key-a": "sk-wrong"})
    try:
        for _ in range(2):  # the request that met the refusal, then admission's answer for the pool
            exc = refused(gw)
            assert exc.status_code == 502
            body = error(exc)
            assert (body["type"], body["code"]) == ("api_error", "upstream_auth_failed")
            assert "refused the gateway's credentials" in body["message"]
            assert "retry-after" not in exc.response.headers
            assert call_record(gw, exc)["error_code"] == "upstream_auth_failed"
        assert body["message"].endswith("Its 1 key(s): 1 refused by its provider (invalid or revoked).")
        assert listed(gw) == {"upstream/key-a": ("invalid", "invalid")}
    finally:
        assert gw.stop() == 0


def test_an_unreachable_upstream_names_the_transport_error_and_rests_the_key(tmp_path):
    gw = gateway(tmp_path, f"http://127.0.0.1:{free_port()}", "key-a")  # nothing listens there
    try:
        # The request that failed reports its own failure (502); while the key rests, admission
        # answers 503 with when aigw tries again. Each failure doubles the rest, so a 503 comes.
        answers = []
        while len(answers) < 8 and not any(e.status_code == 503 for e in answers):
            answers.append(refused(gw))
        assert answers[0].status_code == 502
        assert "could not be reached (ConnectError: no connection)" in error(answers[0])["message"]
        resting = answers[-1]
        assert resting.status_code == 503
        body = error(resting)
        assert (body["type"], body["code"]) == ("api_error", "upstream_unreachable")
        assert "could not be reached (ConnectError); aigw tries again in" in body["message"]
        assert int(resting.response.headers["retry-after"]) >= 1
        for exc in answers:
            assert error(exc)["code"] == "upstream_unreachable"  # never a rate limit
        record = call_record(gw, answers[0])
        assert record["error_code"] == "upstream_unreachable"
        assert [(a["key_id"], a["outcome"]) for a in record["attempts"]] == [
            ("key-a", "upstream_unreachable")
        ]
        assert call_record(gw, resting)["error_code"] == "upstream_unreachable"
        # Each try after a rest that fails again doubles the rest: drive it to 8 s, so the listing
        # (a process of its own, slow to start on a loaded machine) sees the key resting.
        for _ in range(100_000):
            exc = refused(gw)
            assert error(exc)["code"] == "upstream_unreachable"
            if exc.status_code == 503 and int(exc.response.headers["retry-after"]) >= 8:
                break
        assert listed(gw)["upstream/key-a"] == ("cooling", "unreachable")
    finally:
        assert gw.stop() == 0


def test_every_key_disabled(tmp_path, mock):
    gw = gateway(tmp_path, mock, "key-a", "key-b")
    try:
        for key in ("key-a", "key-b"):
            assert admin_cli(gw, "upstream-keys", "disable", "upstream", key).returncode == 0
        exc = refused(gw)
        assert exc.status_code == 503
        body = error(exc)
        assert (body["type"], body["code"]) == ("api_error", "upstream_keys_disabled")
        assert "disabled by an operator" in body["message"]
        assert "retry-after" not in exc.response.headers  # nobody knows when an operator acts
        assert call_record(gw, exc)["error_code"] == "upstream_keys_disabled"
        assert listed(gw) == {
            "upstream/key-a": ("disabled", "disabled"),
            "upstream/key-b": ("disabled", "disabled"),
        }
        assert httpx.get(mock + "/_mock/stats").json()["requests_by_key"] == {"key-a": 0, "key-b": 0}
    finally:
        assert gw.stop() == 0


def test_a_rate_limited_pool_says_when_it_recovers(tmp_path, mock):
    gw = gateway(tmp_path, mock, "key-a")
    try:
        with client(gw) as sdk:
            sdk.chat.completions.create(model="chat", messages=HELLO)  # its one request a minute
        exc = refused(gw)
        assert isinstance(exc, openai.RateLimitError)
        body = error(exc)
        assert (body["type"], body["code"]) == ("rate_limit_error", "upstream_capacity_exhausted")
        assert "is rate-limited by its provider" in body["message"]
        assert 1 <= int(exc.response.headers["retry-after"]) <= 61  # the mock's minute, rounded up
        record = call_record(gw, exc)
        assert (record["error_code"], record["limit_scope"]) == ("upstream_capacity_exhausted", "pool")
        assert listed(gw) == {"upstream/key-a": ("cooling", "rate_limited")}
    finally:
        assert gw.stop() == 0
