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

from enum import Enum

import msgspec


class Verdict(Enum):
    OK = "ok"
    RATE_LIMITED = "rate_limited"
    QUOTA = "quota"
    INVALID = "invalid"
    SERVER = "server"
    CLIENT = "client"


# The members as module names, which the request path reads. On Python 3.11 EnumType has a
# __getattr__, so every `Verdict.OK` is an unspecialised lookup (~850 instructions, 4 a request).
OK = Verdict.OK
RATE_LIMITED = Verdict.RATE_LIMITED
QUOTA = Verdict.QUOTA
INVALID = Verdict.INVALID
SERVER = Verdict.SERVER
CLIENT = Verdict.CLIENT

RETRYABLE = frozenset({RATE_LIMITED, QUOTA, INVALID, SERVER})


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
        return OK
    if status in (401, 403):
        return INVALID
    if status == 402:
        return QUOTA
    if status == 429:
        err = _error(body)
        return QUOTA if err.code in QUOTA_CODES or err.type in QUOTA_CODES else RATE_LIMITED
    if status >= 500:
        return SERVER
    if status == 400 and "credit balance" in (_error(body).message or ""):
        return QUOTA
    return CLIENT
