"""Property-based fuzzing of what reads outside input: the request decoders, config decoding and
every translator both ways. Whatever comes in, nothing escapes but the error meant for it (a 400
GatewayError, a ConfigError), translated answers are JSON, and round trips hold.

The atheris entry points (fuzz/atheris_main.py) drive the same targets with coverage guidance,
briefly here where atheris installs and for as long as wanted by hand (docs/security.md#fuzzing).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import targets
from gateway.config.loader import ConfigError, parse_config
from gateway.errors import GatewayError
from gateway.ingress import anthropic as ingress
from gateway.providers.base import adapter_for
from gateway.providers.canonical import CHAT_REQUEST_DECODER, ENCODER, decode_chat

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
HELLO = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES_HELLO = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


def field_names(struct: Any) -> list[str]:
    return sorted(f.encode_name for f in msgspec.structs.fields(struct))


@FUZZ
@given(st.binary(max_size=512))
def test_the_request_decoders_refuse_any_bytes_with_a_400(data):
    targets.request_decoders(data)  # raises only what is not a 400 GatewayError


@FUZZ
@given(st.sampled_from(["chat", "messages"]), st.data())
def test_a_valid_request_with_one_field_changed_is_read_or_refused_naming_it(route, data):
    base, decoder = (HELLO, decode_chat) if route == "chat" else (MESSAGES_HELLO, ingress.chat_request)
    names = field_names(CHAT_REQUEST_DECODER.type if route == "chat" else ingress.api.MessagesRequest)
    field = data.draw(st.sampled_from(names))
    body = json.dumps({**base, field: data.draw(JSON)}).encode()
    try:
        decoder(body)
    except GatewayError as refused:
        assert refused.status == 400
        if refused.param is not None:  # the changed field, or a place inside it
            assert refused.param.split(".")[0].split("[")[0] == field, (refused.param, field)


@FUZZ
@given(st.dictionaries(st.sampled_from(["server", "store", "providers", "model_groups", "tenants"]), JSON))
def test_config_decoding_refuses_any_document_with_a_config_error(doc):
    try:
        parse_config(json.dumps(doc), env={})
    except ConfigError as refused:
        assert refused.problems
    except RecursionError:  # pragma: no cover - JSON above is shallow
        pytest.fail("deep recursion")


@FUZZ
@given(st.text(max_size=300))
def test_config_decoding_refuses_any_text_with_a_config_error(text):
    try:
        parse_config(text, env={})
    except ConfigError as refused:
        assert refused.problems


TEXT = st.text(min_size=1, max_size=40)
MESSAGE = st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant"]), "content": TEXT})
REQUEST = st.fixed_dictionaries(
    {"model": st.just("m"), "messages": st.lists(MESSAGE, min_size=1, max_size=4)},
    optional={
        "temperature": st.floats(0, 1),
        "top_p": st.floats(0, 1),
        "max_tokens": st.integers(1, 4096),
        "stop": st.lists(TEXT, max_size=3),
        "stream": st.booleans(),
        "seed": st.integers(0, 2**31),
        "user": TEXT,
    },
)


@FUZZ
@given(REQUEST)
def test_a_canonical_request_round_trips_through_its_encoding(doc):
    request = decode_chat(json.dumps(doc).encode())
    again = decode_chat(ENCODER.encode(request))
    assert again == request


@FUZZ
@given(st.sampled_from(targets.ADAPTERS), REQUEST)
def test_every_adapter_builds_a_request_or_refuses_it_with_a_400(provider_type, doc):
    adapter = adapter_for(provider_type)
    try:
        call = adapter.chat_call(
            decode_chat(json.dumps(doc).encode()), "upstream-model", "https://example.test/v1"
        )
    except GatewayError as refused:
        assert refused.status == 400
    else:
        json.loads(call.body)


ANSWER = st.binary(max_size=300) | st.dictionaries(st.text(max_size=12), JSON, max_size=5).map(
    lambda doc: json.dumps(doc).encode()
)


@FUZZ
@given(st.sampled_from(targets.ADAPTERS), st.sampled_from([200, 400, 429, 500, 529]), ANSWER)
def test_every_adapter_turns_any_answer_into_openai_json(provider_type, status, body):
    targets.answer_translators(provider_type, status, body)


@FUZZ
@given(st.sampled_from([*targets.ADAPTERS, "messages"]), st.lists(st.binary(max_size=120), max_size=6))
def test_every_stream_translator_takes_any_bytes(provider_type, pieces):
    targets.stream_translators(provider_type, pieces)


@FUZZ
@given(TEXT, st.sampled_from(["stop", "length"]), st.integers(0, 10**6), st.integers(0, 10**6))
def test_an_answer_round_trips_through_anthropics_format(text, finish, prompt, completion):
    """OpenAI completion -> Anthropic Message (the ingress) -> OpenAI completion (the adapter)."""
    completion_doc = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }
    status, anthropic_body = ingress.message_response(200, json.dumps(completion_doc).encode(), "m")
    assert status == 200
    status, openai_body = adapter_for("anthropic").chat_response(200, anthropic_body, "m")
    back = json.loads(openai_body)
    assert status == 200
    choice = back["choices"][0]
    assert (choice["message"]["content"], choice["finish_reason"]) == (text, finish)
    assert (back["usage"]["prompt_tokens"], back["usage"]["completion_tokens"]) == (prompt, completion)


@pytest.mark.parametrize("target", ["requests", "config", "answers", "streams"])
def test_each_atheris_target_runs(target, tmp_path):
    """A short coverage-guided run of each target, where atheris installs (it needs a clang
    with libFuzzer): no input it tries may raise."""
    pytest.importorskip("atheris")
    run = subprocess.run(
        [sys.executable, "-m", "fuzz.atheris_main", target, "-runs=3000", f"-artifact_prefix={tmp_path}/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
