"""The one error type and its renderings, read back with the official SDKs' own types."""

from __future__ import annotations

import gc
import json
import weakref

import msgspec
import pytest
from anthropic.types.shared import ErrorResponse
from openai.types.shared import ErrorObject

from gateway.admission import Rejection
from gateway.errors import (
    GatewayError,
    anthropic_json,
    anthropic_sse,
    anthropic_type,
    decode_body,
    openai_json,
    openai_sse,
)

ERR = GatewayError(429, "rate_limit_error", "rate_limit_exceeded", "Slow down.", "model", 2.5)


def test_openai_json_is_what_the_openai_sdk_reads():
    error = ErrorObject.model_validate(json.loads(openai_json(ERR))["error"])
    assert (error.type, error.code, error.param, error.message) == (
        "rate_limit_error",
        "rate_limit_exceeded",
        "model",
        "Slow down.",
    )
    assert openai_sse(ERR) == b"data: " + openai_json(ERR) + b"\n\n"


def test_anthropic_json_is_what_the_anthropic_sdk_reads():
    error = ErrorResponse.model_validate_json(anthropic_json(ERR))
    # Anthropic's error has no param field: it leads the message.
    assert (error.type, error.error.type, error.error.message) == (
        "error",
        "rate_limit_error",
        "model: Slow down.",
    )
    event, data = anthropic_sse(ERR).split(b"\n", 1)
    assert event == b"event: error" and data == b"data: " + anthropic_json(ERR) + b"\n\n"


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, "invalid_request_error"), (413, "request_too_large"), (418, "invalid_request_error"),
     (502, "api_error"), (504, "timeout_error"), (529, "overloaded_error")],
)  # fmt: skip
def test_anthropic_error_type_follows_the_status(status, kind):
    assert anthropic_type(status) == kind


class _Message(msgspec.Struct):
    role: str


class _Body(msgspec.Struct):
    model: str
    messages: list[_Message]


def test_a_body_that_does_not_decode_is_a_400_naming_the_field():
    decoder = msgspec.json.Decoder(_Body)
    with pytest.raises(GatewayError) as info:
        decode_body(decoder, b'{"model": "m", "messages": [{"role": 1}]}')
    assert (info.value.status, info.value.code, info.value.param) == (
        400,
        "invalid_request",
        "messages[0].role",
    )
    with pytest.raises(GatewayError) as info:
        decode_body(decoder, b'{"messages": []}')
    assert info.value.param == "model" and "Missing required parameter: 'model'" in info.value.message
    with pytest.raises(GatewayError) as info:
        decode_body(decoder, b'{"model": ')
    assert (info.value.code, info.value.param) == ("invalid_json", None)


def test_an_admission_rejection_is_the_same_error():
    r = Rejection(403, "permission_error", "network_not_allowed", "Not from here.")
    assert isinstance(r, GatewayError) and r.consumer is None
    assert str(r) == "Not from here." and repr(r) == "Rejection(403, 'network_not_allowed')"


def test_an_error_kept_detached_does_not_keep_the_frame_that_caught_it():
    """An error answered later (the body's, once the caller is known) holds no traceback or
    chained exception: their frames would hold it back, with the request's state, until a full
    garbage collection."""

    class RequestState:
        pass

    def handle(state: RequestState) -> GatewayError:
        try:
            try:
                msgspec.json.decode(b"{")
            except msgspec.DecodeError as exc:
                raise GatewayError(400, "invalid_request_error", "invalid_json", "Not JSON.") from exc
        except GatewayError as exc:
            kept = exc.detached()
        return kept

    state = RequestState()
    alive = weakref.ref(state)
    gc.collect()
    gc.disable()  # freed as `handle` returns, not by a collection
    try:
        err = handle(state)
        del state
        assert alive() is None
    finally:
        gc.enable()
    assert (err.status, err.code) == (400, "invalid_json")
    assert err.__traceback__ is None and err.__context__ is None and err.__cause__ is None
