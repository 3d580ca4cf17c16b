"""The official openai SDK, pointed at aigw, works unchanged."""

import openai
import pytest


@pytest.fixture
def client(gateway, api_key):
    return openai.OpenAI(base_url=gateway.base_url + "/v1", api_key=api_key, max_retries=0)


def test_chat_completion(client):
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello there gateway"}]
    )
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Mock reply: hello there gateway"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens == 3


def test_without_a_limit_there_are_no_rate_limit_headers(client):
    # As the README says: x-ratelimit-* report a limit that applied (tests/e2e/test_limits.py
    # checks them under one); this app has none.
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.status_code == 200 and raw.headers["x-request-id"].startswith("req_")
    assert [h for h in raw.headers if h.lower().startswith("x-ratelimit")] == []


def test_streamed_completion_reassembles_with_a_final_usage_chunk(client):
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "stream these words please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Mock reply: stream these words please"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(text.split())
    assert sum(1 for c in chunks if c.choices and c.choices[0].finish_reason == "stop") == 1


def test_embeddings_float_and_base64(client):
    as_float = client.embeddings.create(
        model="text-embedding-3-small", input=["a", "b"], encoding_format="float"
    )
    default = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(as_float.data) == 2
    for base64_item, float_item in zip(default.data, as_float.data, strict=True):
        assert base64_item.embedding == pytest.approx(float_item.embedding, rel=1e-6)
    assert as_float.data[0].embedding != as_float.data[1].embedding


def test_model_list_shows_what_this_key_may_call(gateway, client):
    assert sorted(m.id for m in client.models.list()) == [
        "gpt-4o-mini",
        "gpt-4o-mini-latest",
        "text-embedding-3-small",
    ]
    via_alias = client.chat.completions.create(
        model="gpt-4o-mini-latest", messages=[{"role": "user", "content": "alias"}]
    )
    assert via_alias.choices[0].message.content == "Mock reply: alias"
    restricted = openai.OpenAI(
        base_url=gateway.base_url + "/v1", api_key=gateway.keys["embed-only"], max_retries=0
    )
    assert [m.id for m in restricted.models.list()] == ["text-embedding-3-small"]
    with pytest.raises(openai.NotFoundError) as info:
        restricted.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert info.value.code == "model_not_found"


def test_alternative_key_headers_are_accepted(gateway, api_key, http):
    for header in ("api-key", "x-api-key"):
        r = http.get(gateway.base_url + "/v1/models", headers={header: api_key})
        assert r.status_code == 200, header


def test_the_consumer_key_never_reaches_the_upstream(gateway, api_key, http):
    # The mock answers 401 to any key it was not configured with; a 200 means aigw sent its own.
    r = http.post(
        gateway.base_url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {api_key}"},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 200
    assert r.headers["x-request-id"].startswith("req_")
