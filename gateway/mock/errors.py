"""OpenAI's error bodies, as the mock answers them: the same messages, types, params and codes."""

from __future__ import annotations

import msgspec

_encode = msgspec.json.Encoder().encode

_MSG_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank "
    "username) if you're accessing the API from your browser and are prompted for a username and "
    "password. You can obtain an API key from https://platform.openai.com/account/api-keys."
)
_MSG_BAD_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
    "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
    "valid JSON. If you have trouble figuring out how to fix this, please contact us through our "
    "help center at help.openai.com.)"
)
MSG_SERVER = "The server had an error while processing your request. Sorry about that!"


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> bytes:
    return _encode({"error": {"message": message, "type": type_, "param": param, "code": code}})


def invalid(message: str, param: str | None = None, code: str | None = None) -> tuple[int, bytes]:
    return 400, error_body(message, "invalid_request_error", param, code)


REVOKED = error_body(
    "Incorrect API key provided: sk-****. You can find your API key at https://platform.openai.com/account/api-keys.",
    "invalid_request_error",
    None,
    "invalid_api_key",
)
QUOTA = error_body(
    "You exceeded your current quota, please check your plan and billing details. For more information "
    "on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
    "insufficient_quota",
    None,
    "insufficient_quota",
)
SERVER = error_body(MSG_SERVER, "server_error")
BAD_JSON = (400, error_body(_MSG_BAD_JSON, "invalid_request_error"))
NO_KEY = (401, error_body(_MSG_NO_KEY, "invalid_request_error"))


def mask_key(key: str) -> str:
    # OpenAI echoes a masked key ("sk-XG6GW****...wlmi"); never echo a short key in full.
    if len(key) <= 12:
        return "*" * len(key)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def bad_key(key: str) -> tuple[int, bytes]:
    msg = (
        f"Incorrect API key provided: {mask_key(key)}. "
        "You can find your API key at https://platform.openai.com/account/api-keys."
    )
    return 401, error_body(msg, "invalid_request_error", None, "invalid_api_key")


def invalid_url(method: bytes, path: bytes) -> bytes:
    url = f"{method.decode()} {path.decode(errors='replace')}"
    return error_body(f"Invalid URL ({url})", "invalid_request_error")


def validation_error(exc: msgspec.ValidationError) -> tuple[int, bytes]:
    # msgspec says e.g. "Expected `int`, got `str` - at `$.max_tokens`"; map it to OpenAI's shape.
    msg, _, at = str(exc).partition(" - at `$")
    path = at.rstrip("`").lstrip(".")
    prefix = "Object missing required field `"
    if msg.startswith(prefix):
        name = msg[len(prefix) : -1]
        param = f"{path}.{name}" if path else name
        return invalid(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")
    if not path:
        return invalid(f"Invalid request body: {msg[:1].lower()}{msg[1:]}.", None, "invalid_type")
    return invalid(f"Invalid type for '{path}': {msg[:1].lower()}{msg[1:]}.", path, "invalid_type")


def out_of_range(param: str, value: int, low: int, high: int) -> tuple[int, bytes] | None:
    if value < low:
        return invalid(
            f"Invalid '{param}': integer below minimum value. Expected a value >= {low}, "
            f"but got {value} instead.",
            param,
            "integer_below_min_value",
        )
    if value > high:
        return invalid(
            f"Invalid '{param}': integer above maximum value. Expected a value <= {high}, "
            f"but got {value} instead.",
            param,
            "integer_above_max_value",
        )
    return None
