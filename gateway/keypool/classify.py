"""Which kind of failure an upstream answer is, from its status and the provider's error code.

| answer | verdict | the key | the request |
|---|---|---|---|
| 2xx | ok | healthy; backoff streak reset | done |
| 429 `insufficient_quota`, 402, 400 "credit balance" | quota | exhausted, probed | retried on another key |
| 429 otherwise | rate_limited | cooling until the provider's reset (else backoff) | retried on another key |
| 401, 403 | invalid | invalid, probed rarely | retried on another key |
| 5xx, 529, connect error, timeout, reset | server | rests after 3 in a row * | retried on another key |
| other 4xx | client | unchanged | the caller's error, passed through |

* and every key of the provider rests after 5 in a row across them (gateway/keypool/health.py).
"""

from __future__ import annotations

from typing import ClassVar

import msgspec


class Verdict:
    """What an answer says about its key: one of the six instances below, compared with `is`.

    Not an Enum: on Python 3.11 EnumType has a __getattr__, which makes every `Verdict.OK` read an
    unspecialised lookup (~850 instructions; the request path makes 4 a request). A plain class's
    attributes are read as any class attribute."""

    __slots__ = ("value",)

    OK: ClassVar[Verdict]
    RATE_LIMITED: ClassVar[Verdict]
    QUOTA: ClassVar[Verdict]
    INVALID: ClassVar[Verdict]
    SERVER: ClassVar[Verdict]
    CLIENT: ClassVar[Verdict]

    def __init__(self, value: str) -> None:
        self.value = value  # as the call log records the outcome

    def __repr__(self) -> str:
        return f"Verdict.{self.value.upper()}"


Verdict.OK = Verdict("ok")
Verdict.RATE_LIMITED = Verdict("rate_limited")
Verdict.QUOTA = Verdict("quota")
Verdict.INVALID = Verdict("invalid")
Verdict.SERVER = Verdict("server")
Verdict.CLIENT = Verdict("client")

RETRYABLE = frozenset({Verdict.RATE_LIMITED, Verdict.QUOTA, Verdict.INVALID, Verdict.SERVER})


class _Error(msgspec.Struct):
    type: str | None = None
    code: str | None = None
    message: str | None = None


class _Envelope(msgspec.Struct):
    error: _Error | str | None = None


_decoder = msgspec.json.Decoder(_Envelope)
QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"})


def _error(body: bytes) -> _Error:
    try:
        err = _decoder.decode(body).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        return _Error()
    return err if isinstance(err, _Error) else _Error(message=err)


def classify(status: int, body: bytes) -> Verdict:
    if status < 400:
        return Verdict.OK
    if status in (401, 403):
        return Verdict.INVALID
    if status == 402:
        return Verdict.QUOTA
    if status == 429:
        err = _error(body)
        return Verdict.QUOTA if err.code in QUOTA_CODES or err.type in QUOTA_CODES else Verdict.RATE_LIMITED
    if status >= 500:
        return Verdict.SERVER
    if status == 400 and "credit balance" in (_error(body).message or ""):
        return Verdict.QUOTA
    return Verdict.CLIENT
