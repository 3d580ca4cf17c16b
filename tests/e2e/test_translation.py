"""One API for every provider, through a real gateway: the official openai SDK against
Anthropic- and Gemini-format upstreams, and the official anthropic SDK on the Messages ingress."""

import json

import anthropic
import httpx
import openai
import pytest

from .conftest import Gateway, start_upstream_mock, stop_upstream_mock

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    claude, claude_url = start_upstream_mock(module="tests.mocks.anthropic_server")
    gemini, gemini_url = start_upstream_mock(module="tests.mocks.gemini_server")
    gw = Gateway(
        tmp_path_factory.mktemp("translation"),
        f"""
  - name: claude
    type: anthropic
    base_url: {claude_url}
    keys: [{{id: claude-key, value: sk-ant-test}}]
  - name: gemini
    type: gemini
    base_url: {gemini_url}
    keys: [{{id: gemini-key, value: gemini-test-key}}]
model_groups:
  - name: claude
    deployments: [{{provider: claude, model: claude-sonnet-4-5}}]
  - name: gemini
    deployments: [{{provider: gemini, model: gemini-2.5-flash}}]
  - name: gpt-4o-mini
    deployments: [{{provider: mock}}]
tenants:
  - name: default
    apps: [{{name: demo}}]
""",
    )
    gw.keys["demo"] = gw.new_key()
    gw.start()
    yield gw
    assert gw.stop() == 0
    for proc in (claude, gemini):
        stop_upstream_mock(proc)


@pytest.fixture
def oai(gw):
    return openai.OpenAI(base_url=gw.base_url + "/v1", api_key=gw.keys["demo"], max_retries=0)


@pytest.fixture
def claude_sdk(gw):
    return anthropic.Anthropic(base_url=gw.base_url, api_key=gw.keys["demo"], max_retries=0)


@pytest.mark.parametrize("model", ["claude", "gemini"])
def test_openai_sdk_gets_a_completion_from_another_provider(oai, model):
    done = oai.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello from openai"},
        ],
    )
    assert done.object == "chat.completion"
    assert "hello from openai" in done.choices[0].message.content
    assert done.choices[0].finish_reason == "stop"
    assert done.usage.prompt_tokens > 0 and done.usage.completion_tokens > 0


@pytest.mark.parametrize("model", ["claude", "gemini"])
def test_openai_sdk_streams_from_another_provider_with_a_final_usage_chunk(oai, model):
    chunks = list(
        oai.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "stream me some words"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "stream me some words" in text
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


@pytest.mark.parametrize("model", ["claude", "gemini"])
def test_openai_sdk_tool_calls_from_another_provider_plain_and_streamed(oai, model):
    messages = [{"role": "user", "content": "weather in Paris?"}]
    done = oai.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
    call = done.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and "city" in json.loads(call.function.arguments)
    assert done.choices[0].finish_reason == "tool_calls"
    stream = oai.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL], stream=True)
    names, arguments = set(), ""
    for chunk in stream:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            if delta.function and delta.function.name:
                names.add(delta.function.name)
            if delta.function and delta.function.arguments:
                arguments += delta.function.arguments
    assert names == {"get_weather"} and "city" in json.loads(arguments)


def test_anthropic_sdk_gets_messages_and_streams_from_an_openai_format_upstream(claude_sdk):
    message = claude_sdk.messages.create(
        model="gpt-4o-mini", max_tokens=64, messages=[{"role": "user", "content": "hello claude sdk"}]
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].text == "Mock reply: hello claude sdk"
    assert message.stop_reason == "end_turn" and message.usage.output_tokens > 0
    with claude_sdk.messages.stream(
        model="gpt-4o-mini", max_tokens=64, messages=[{"role": "user", "content": "stream it back"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Mock reply: stream it back" and final.stop_reason == "end_turn"


def test_anthropic_sdk_gets_tool_use_from_an_openai_format_upstream(claude_sdk):
    tool = {
        "name": "get_weather",
        "description": "Weather",
        "input_schema": WEATHER_TOOL["function"]["parameters"],
    }
    ask = {
        "model": "gpt-4o-mini",
        "max_tokens": 64,
        "tools": [tool],
        "messages": [{"role": "user", "content": "weather?"}],
    }
    message = claude_sdk.messages.create(**ask)
    use = next(b for b in message.content if b.type == "tool_use")
    assert (use.name, use.input, message.stop_reason) == ("get_weather", {"city": "mock"}, "tool_use")
    with claude_sdk.messages.stream(**ask) as stream:
        final = stream.get_final_message()
    uses = [b for b in final.content if b.type == "tool_use"]
    assert [(u.name, u.input) for u in uses] == [("get_weather", {"city": "mock"})]
    assert final.stop_reason == "tool_use"


def test_anthropic_sdk_tool_use_round_trips_through_the_gateway(claude_sdk):
    tool = {
        "name": "get_weather",
        "description": "Weather",
        "input_schema": WEATHER_TOOL["function"]["parameters"],
    }
    message = claude_sdk.messages.create(
        model="claude", max_tokens=64, tools=[tool], messages=[{"role": "user", "content": "weather?"}]
    )
    use = next(b for b in message.content if b.type == "tool_use")
    assert use.name == "get_weather" and "city" in use.input and message.stop_reason == "tool_use"
    with claude_sdk.messages.stream(
        model="claude", max_tokens=64, tools=[tool], messages=[{"role": "user", "content": "weather?"}]
    ) as stream:
        final = stream.get_final_message()
    assert any(b.type == "tool_use" and b.name == "get_weather" for b in final.content)


def test_messages_ingress_errors_are_in_anthropics_format(gw):
    bad = anthropic.Anthropic(base_url=gw.base_url, api_key="aigw-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as info:
        bad.messages.create(model="claude", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert info.value.body["type"] == "error" and info.value.body["error"]["type"] == "authentication_error"
    good = anthropic.Anthropic(base_url=gw.base_url, api_key=gw.keys["demo"], max_retries=0)
    with pytest.raises(anthropic.NotFoundError):
        good.messages.create(model="nope", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.BadRequestError) as info:
        good.messages.create(model="claude", max_tokens=8, messages=[])
    assert info.value.body["error"]["type"] == "invalid_request_error"


def test_a_provider_error_reaches_the_openai_caller_in_openais_format(oai):
    with pytest.raises(openai.BadRequestError) as info:
        oai.chat.completions.create(model="claude", messages=[{"role": "user", "content": "mock:error=400"}])
    assert info.value.status_code == 400


def test_a_cut_upstream_stream_ends_the_callers_stream_with_an_error_not_a_hang(oai):
    stream = oai.chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "mock:truncate"}], stream=True
    )
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


def test_the_current_anthropic_sdk_is_served_with_its_own_types(claude_sdk, gw):
    # anthropic SDK >= 2.0: `Authorization: Bearer`, API version 2026-10-21, and the MessageParam
    # union that lets a system message stand among the others.
    assert claude_sdk.auth_headers == {"Authorization": f"Bearer {gw.keys['demo']}"}
    assert anthropic._constants.ANTHROPIC_API_VERSION == "2026-10-21"
    messages: list[anthropic.types.MessageParam] = [
        anthropic.types.SystemMessageParam(role="system", content="Answer briefly."),
        anthropic.types.UserMessageParam(
            role="user", content=[anthropic.types.TextBlockParam(type="text", text="typed hello")]
        ),
    ]
    for model in ("claude", "gpt-4o-mini"):  # translated twice, and once
        message = claude_sdk.messages.create(model=model, max_tokens=64, messages=messages)
        assert isinstance(message, anthropic.types.Message) and "typed hello" in message.content[0].text
    # The version has no sampling parameters: aigw refuses them as Anthropic does.
    with pytest.raises(anthropic.BadRequestError) as refused:
        claude_sdk.messages.create(
            model="claude", max_tokens=64, messages=messages, extra_body={"temperature": 0.5}
        )
    assert refused.value.body["error"] == {  # type: ignore[index]
        "type": "invalid_request_error",
        "message": "temperature: Extra inputs are not permitted",
    }


def test_an_older_anthropic_client_is_served_as_2023_06_01(gw):
    # x-api-key and anthropic-version 2023-06-01, as SDKs before 2.0 sent them: sampling
    # parameters are taken (within Anthropic's range) and passed on where the target takes them.
    body: anthropic.types.MessageCreateParams = {  # type: ignore[typeddict-unknown-key]
        "model": "claude",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "older hello"}],
        "temperature": 0.5,
        "top_k": 5,
    }
    headers = {"x-api-key": gw.keys["demo"], "anthropic-version": "2023-06-01"}
    resp = httpx.post(gw.base_url + "/v1/messages", json=body, headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    assert anthropic.types.Message.model_validate(resp.json()).content[0].text == "older hello"
    # The claude deployment speaks 2026-10-21 upstream: the parameters were dropped, and said so.
    assert resp.headers["x-aigw-dropped-params"] == "temperature, top_k"
    too_hot = httpx.post(
        gw.base_url + "/v1/messages", json={**body, "temperature": 1.5}, headers=headers, timeout=30
    )
    assert too_hot.status_code == 400 and too_hot.json()["error"]["type"] == "invalid_request_error"
