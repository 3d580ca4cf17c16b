"""The one error a caller sees, and its rendering in each caller's format.

Wherever a request fails — admission, a body that does not decode, a request a provider cannot
express, an upstream that is down — the failure is a `GatewayError`: the HTTP status, OpenAI's
`type` and a stable `code`, a message that says what to do, the parameter at fault and, where a
retry can succeed later, when. It is raised (or, from admission, returned) without being
rendered; the layer that answers renders it once, in its caller's format: `openai_json`,
`anthropic_json` and their server-sent-event forms here, the admin listener's in
gateway/admin/responses.py.

A leaf: no gateway imports, so every layer may raise it.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

T = TypeVar("T")


class GatewayError(Exception):
    """A failure the caller should see with this status, type, code and message."""

    __slots__ = ("code", "message", "param", "retry_after_s", "status", "type")

    def __init__(
        self,
        status: int,
        type: str,
        code: str,
        message: str,
        param: str | None = None,
        retry_after_s: float | None = None,
    ):
        self.status = status
        self.type = type  # OpenAI's error type: invalid_request_error, rate_limit_error, api_error, …
        self.code = code
        self.message = message
        self.param = param  # the request field at fault, where there is one
        # When the caller may try again (its Retry-After), where that is known.
        self.retry_after_s = retry_after_s

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.code!r})"

    def detached(self) -> GatewayError:
        """This error without the traceback and the exceptions it was raised with, to be kept
        past its `except` block: they hold the frames whose locals would hold it, a reference
        cycle (with the whole request's state) that only a full garbage collection frees."""
        self.__traceback__ = self.__context__ = self.__cause__ = None
        return self


def bad_request(message: str, param: str | None = None, code: str = "invalid_request") -> GatewayError:
    return GatewayError(400, "invalid_request_error", code, message, param)


def decode_body(decoder: msgspec.json.Decoder[T], body: bytes) -> T:
    """A caller's JSON body decoded by `decoder`; anything wrong with it is a 400 that names the
    field (`messages[0].role`) where msgspec knows it."""
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        text = str(exc)
        param = None
        if " - at `$." in text:
            text, _, at = text.partition(" - at `$.")
            param = at.rstrip("`")
            text = f"{text} at '{param}'"
        elif text.startswith("Object missing required field `"):
            param = text.split("`")[1]
            text = f"Missing required parameter: '{param}'."
        raise bad_request(f"Invalid request body: {text}", param) from None
    except msgspec.DecodeError:
        raise bad_request(
            "We could not parse the JSON body of your request. The API expects a JSON payload "
            "(Content-Type: application/json) but what was sent was not valid JSON.",
            code="invalid_json",
        ) from None


# --------------------------------------------------------------------------- OpenAI's format
# {"error": {"message", "type", "param", "code"}}, and in a stream the same as an SSE event,
# which the OpenAI SDKs raise on.


class _OpenAIError(msgspec.Struct):
    message: str
    type: str
    param: str | None
    code: str | None


class _OpenAIEnvelope(msgspec.Struct):
    error: _OpenAIError


_encoder = msgspec.json.Encoder()


def openai_json(err: GatewayError) -> bytes:
    return _encoder.encode(_OpenAIEnvelope(_OpenAIError(err.message, err.type, err.param, err.code)))


def openai_sse(err: GatewayError) -> bytes:
    return b"data: " + openai_json(err) + b"\n\n"


# --------------------------------------------------------------------------- Anthropic's format
# {"type": "error", "error": {"type", "message"}} (https://docs.anthropic.com/en/api/errors): the
# error type follows from the status; there is no code or param field, so the param leads the
# message. In a stream the same body is an `event: error`.

ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def anthropic_type(status: int) -> str:
    return ANTHROPIC_TYPES.get(status) or ("invalid_request_error" if status < 500 else "api_error")


class _AnthropicError(msgspec.Struct):
    type: str
    message: str


class _AnthropicEnvelope(msgspec.Struct, tag="error", tag_field="type"):
    error: _AnthropicError


def anthropic_json(err: GatewayError) -> bytes:
    message = f"{err.param}: {err.message}" if err.param else err.message
    return _encoder.encode(_AnthropicEnvelope(_AnthropicError(anthropic_type(err.status), message)))


def anthropic_sse(err: GatewayError) -> bytes:
    return b"event: error\ndata: " + anthropic_json(err) + b"\n\n"
