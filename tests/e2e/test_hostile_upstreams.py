"""Upstreams that reset, stall, trickle, cut off, or answer garbage: each request ends in an honest
502 or 504 in the caller's format (a stream: an error event), within the provider's `timeout_s`
plus slack, without holding the upstream's whole answer — and the pool serves the next request.

The upstream is tests/mocks/hostile_upstream.py; the model a request names picks its misbehaviour.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from .conftest import Gateway, start_upstream_mock, stop_upstream_mock

TIMEOUT_S = 2  # the provider's timeout_s
MAX_RESPONSE_BYTES = 1024 * 1024  # the 10 MB error page is dropped once past it
SLACK_S = 15.0  # a loaded machine; a cut-off is asserted within its bound plus this, never exactly
HELLO = [{"role": "user", "content": "hello"}]

ANSWERS = {  # misbehaviour -> (status, code) the caller gets
    "reset-before-head": (502, "upstream_bad_response"),
    "reset-mid-head": (502, "upstream_bad_response"),
    "reset-mid-body": (502, "upstream_bad_response"),
    "truncated-chunked": (502, "upstream_bad_response"),
    "invalid-json": (502, "upstream_bad_response"),
    "html-200": (502, "upstream_bad_response"),
    "huge-error-page": (502, "upstream_bad_response"),
    "slow-head": (504, "upstream_timeout"),
    "trickled-body": (504, "upstream_timeout"),
    "tls-handshake": (502, "upstream_unreachable"),
}
BROKEN_STREAMS = ("stream-reset", "stream-truncated-chunk")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[tuple[Gateway, str, openai.OpenAI]]:
    mock, upstream = start_upstream_mock(module="tests.mocks.hostile_upstream")
    # A provider (one key) per misbehaviour, all on the one upstream: a key resting after one
    # misbehaviour leaves the others' alone, while the worker's pool for the origin is shared.
    names = [name for name in [*ANSWERS, *BROKEN_STREAMS, "ok"] if name != "tls-handshake"]
    providers = "".join(
        f"""
  - name: {name}
    type: openai
    base_url: {upstream}/v1
    timeout_s: {TIMEOUT_S}
    max_response_bytes: {MAX_RESPONSE_BYTES}
    keys: [{{id: {name}, value: sk-{name}}}]"""
        for name in names
    )
    groups = "".join(
        f"\n  - name: {name}\n    deployments: [{{provider: {name}, model: {name}}}]" for name in names
    )
    config = f"""{providers}
  - name: not-tls  # the plain-HTTP upstream, told to speak TLS: the handshake fails
    type: openai
    base_url: {upstream.replace("http://", "https://")}/v1
    keys: [{{id: t, value: sk-t}}]
model_groups:{groups}
  - name: tls-handshake
    deployments: [{{provider: not-tls, model: ok}}]
tenants:
  - name: default
    apps: [{{name: demo}}]
"""
    gw = Gateway(tmp_path_factory.mktemp("hostile-upstreams"), config, workers=1, capture_log=True)
    key = gw.new_key()
    gw.start()
    client = openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0, timeout=60)
    yield gw, upstream, client
    client.close()
    assert gw.stop() == 0
    stop_upstream_mock(mock)
    assert "Traceback" not in gw.log_text(), gw.log_text()


def served(client: openai.OpenAI) -> None:
    """The pool still serves: a normal request to the same upstream is answered."""
    reply = client.chat.completions.create(model="ok", messages=HELLO)
    assert reply.choices[0].message.content == "fine"


@pytest.mark.parametrize("behaviour", sorted(ANSWERS))
def test_a_hostile_answer_is_an_honest_error_in_bounded_time(gateway, behaviour):
    _, _, client = gateway
    status, code = ANSWERS[behaviour]
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(model=behaviour, messages=HELLO)
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT_S + SLACK_S, f"answered after {elapsed:.1f}s"
    response = failed.value.response
    assert (response.status_code, failed.value.code) == (status, code), response.text[:500]
    assert len(response.content) < 4096  # the gateway's own error, not the upstream's page
    served(client)


@pytest.mark.parametrize("behaviour", BROKEN_STREAMS)
def test_a_stream_that_breaks_ends_with_an_error_event(gateway, behaviour):
    _, _, client = gateway
    stream = client.chat.completions.create(model=behaviour, messages=HELLO, stream=True)
    with pytest.raises(openai.APIError) as broke:
        for _ in stream:
            pass  # the chunks that came before the break are relayed
    assert isinstance(broke.value.body, dict) and broke.value.body["code"] == "upstream_bad_response"
    served(client)


def test_a_stream_whose_head_never_comes_is_a_504(gateway):
    _, _, client = gateway
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(model="slow-head", messages=HELLO, stream=True)
    assert (failed.value.status_code, failed.value.code) == (504, "upstream_timeout")


def test_each_misbehaviour_was_tried_once(gateway):
    """One key: nothing is retried against it, and the mock saw each request."""
    _, upstream, _ = gateway
    seen = httpx.get(upstream + "/_mock/stats").json()
    for behaviour in [*ANSWERS, *BROKEN_STREAMS]:
        if behaviour != "tls-handshake":
            assert seen.get(behaviour, 0) >= 1, (behaviour, seen)
