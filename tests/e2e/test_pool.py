"""A pool of provider keys behind an `openai`-type provider: every request goes out with one key
of the pool, never the caller's."""

import httpx
import openai
import pytest

from .conftest import Gateway, pool_yaml, start_upstream_mock, stop_upstream_mock


@pytest.fixture(scope="module")
def upstream():
    proc, url = start_upstream_mock("--key", "pool-a=sk-pool-a", "--key", "pool-b=sk-pool-b")
    yield url
    stop_upstream_mock(proc)


@pytest.fixture(scope="module")
def gw(tmp_path_factory, upstream):
    gw = Gateway(
        tmp_path_factory.mktemp("pool"),
        pool_yaml(upstream, "pool-a", "pool-b"),
        workers=1,
    )
    gw.keys["demo"] = gw.new_key()
    gw.start()
    yield gw
    assert gw.stop() == 0


def test_requests_rotate_over_the_pool_keys_with_the_upstream_model_name(gw, upstream):
    httpx.post(upstream + "/_mock/reset")
    client = openai.OpenAI(base_url=gw.base_url + "/v1", api_key=gw.keys["demo"], max_retries=0)
    for _ in range(10):
        completion = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}])
        # The mock echoes the model it was asked for: the deployment's upstream name.
        assert completion.model == "gpt-4o-mini"
    stats = httpx.get(upstream + "/_mock/stats").json()
    # One worker rotates strictly; the mock refuses (401) any key but its own two.
    assert stats["requests_by_key"] == {"pool-a": 5, "pool-b": 5}
    assert stats["total"] == 10
