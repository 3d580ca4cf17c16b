"""Why an upstream key is out of use, and what to tell a caller when no key of a pool can serve.

A key is out of use because the provider rate-limited it, it rests after server errors or a
transport failure (gateway/keypool/health.py), its quota is exhausted, the provider refused it,
or an operator disabled it. When admission finds no key for a model group, the refusal names the
cause a caller can act on, in this order:

| some key is | status | code | Retry-After |
|---|---|---|---|
| rate-limited, or at its configured limits | 429 | `upstream_capacity_exhausted` | its recovery |
| resting after transport failures | 503 | `upstream_unreachable` (+ error class) | the next try |
| resting after server errors (circuit open) | 503 | `upstream_circuit_open` | the next try |
| out of quota | 429 | `upstream_quota_exhausted` | none: no time is known |
| refused by the provider | 502 | `upstream_auth_failed` | none |
| disabled by an operator | 503 | `upstream_keys_disabled` | none |

The message ends with what every key of the pool is doing, so an operator reading a caller's
error (or the call log) sees the whole pool.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from ..admission import Rejection
from ..admission.layout import (
    COOL_NAMES,
    COOL_RATE_LIMITED,
    STATE_DISABLED,
    STATE_EXHAUSTED,
    STATE_INVALID,
)
from ..admission.rejections import pool_exhausted

RATE_LIMITED = "rate_limited"
QUOTA, INVALID, DISABLED = "quota", "invalid", "disabled"
TRANSPORT = {
    "unreachable": "ConnectError",
    "timeout": "UpstreamTimeout",
    "broken_connection": "ProtocolError",
}
SERVER_ERRORS = "server_errors"
# A key that admission passed over though it is healthy and not cooling: its provider's limiter
# has no room for the request yet (gateway/admission/limiter.py), its configured limits (aigw's
# own, `keys[].limits`) are full, or this request already tried it.
LIMITED = "limited"

_SAID = {
    RATE_LIMITED: "rate-limited by its provider",
    LIMITED: "at its limits (its provider's or its configured ones) or already tried",
    SERVER_ERRORS: "resting after server errors",
    "unreachable": "resting: unreachable (ConnectError)",
    "timeout": "resting: timed out (UpstreamTimeout)",
    "broken_connection": "resting: connection broken (ProtocolError)",
    QUOTA: "out of quota",
    INVALID: "refused by its provider (invalid or revoked)",
    DISABLED: "disabled by an operator",
}


def key_cause(region: Any, slot: int, now_ns: int) -> str | None:
    """Why key `slot` is out of use now; None when it is usable."""
    state = region.state(slot)
    if state == STATE_DISABLED:
        return DISABLED
    if state == STATE_INVALID:
        return INVALID
    if state == STATE_EXHAUSTED:
        return QUOTA
    if region.cool_until(slot) > now_ns:
        return COOL_NAMES.get(region.cool_cause(slot) or COOL_RATE_LIMITED, RATE_LIMITED)
    return None


def pool_refusal(
    group: str, keys: Iterable[tuple[str, int]], region: Any, now_ns: int, refused: Rejection
) -> Rejection:
    """The refusal to give when no key of `group` (and its fallbacks) can serve. `keys`: each
    key's provider and region slot; `refused`: admission's own refusal, whose wait covers keys at
    their configured limits."""
    causes: list[tuple[str, str, int]] = []  # (cause, provider, slot)
    for provider, slot in keys:
        causes.append((key_cause(region, slot, now_ns) or LIMITED, provider, slot))
    counts = Counter(cause for cause, _, _ in causes)
    pool = "; ".join(f"{n} {_SAID[cause]}" for cause, n in sorted(counts.items(), key=lambda c: -c[1]))
    summary = f" Its {len(causes)} key(s): {pool}." if causes else ""

    def rest_end(wanted: Iterable[str]) -> float:
        ends = [region.cool_until(slot) for cause, _, slot in causes if cause in wanted]
        return max(min(ends) - now_ns, 1_000_000) / 1e9

    def providers(cause: str | Iterable[str]) -> str:
        wanted = {cause} if isinstance(cause, str) else set(cause)
        names = sorted({p for c, p, _ in causes if c in wanted})
        return ", ".join(f"'{p}'" for p in names)

    if counts[RATE_LIMITED] or counts[LIMITED]:
        waits = [refused.retry_after_s or 0.0] if counts[LIMITED] else []
        if counts[RATE_LIMITED]:
            waits.append(rest_end([RATE_LIMITED]))
        rejection = pool_exhausted(group, int(min(waits) * 1e9))
        rejection.message += summary
        return rejection
    transport = [cause for cause in TRANSPORT if counts[cause]]
    if transport or counts[SERVER_ERRORS]:
        wait = rest_end([*transport, SERVER_ERRORS])
        if transport:
            classes = ", ".join(TRANSPORT[cause] for cause in transport)
            message = (
                f"The upstream provider {providers(transport)} serving model '{group}' could not be "
                f"reached ({classes}); aigw tries again in {wait:.3g}s."
            )
            code = "upstream_unreachable"
        else:
            message = (
                f"The upstream provider {providers(SERVER_ERRORS)} serving model '{group}' failed with "
                f"server errors repeatedly; aigw tries again in {wait:.3g}s."
            )
            code = "upstream_circuit_open"
        return Rejection(503, "api_error", code, message + summary, None, wait)
    if counts[QUOTA]:
        message = (
            f"Every upstream key serving model '{group}' has exhausted its provider quota; aigw uses "
            "each again once its probe succeeds. An operator must add credit or keys."
        )
        return Rejection(429, "insufficient_quota", "upstream_quota_exhausted", message + summary)
    if counts[INVALID]:
        message = (
            f"The upstream provider {providers(INVALID)} refused the gateway's credentials for model "
            f"'{group}'. An operator must check the provider keys (aigw upstream-keys list)."
        )
        return Rejection(502, "api_error", "upstream_auth_failed", message + summary)
    message = (
        f"Every upstream key serving model '{group}' is disabled by an operator "
        "(aigw upstream-keys enable PROVIDER KEY_ID)."
    )
    return Rejection(503, "api_error", "upstream_keys_disabled", message + summary)
