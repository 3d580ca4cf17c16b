"""What aigw remembers about one call: a msgspec Struct built once per request, after the response.

Field names double as the `calls` table's column names (gateway/calllog/sqlite.py) and the CSV
header, so renaming one is a schema change.
"""

from __future__ import annotations

import msgspec


class Attempt(msgspec.Struct, kw_only=True, gc=False):
    """One try at an upstream: which key, what came back, how long it took."""

    provider: str
    key_id: str
    # The upstream's HTTP status; 0 when no response came (connect error, timeout).
    status: int
    # The key-pool verdict (ok · rate_limited · quota · invalid · server · client), or when no
    # answer came, the gateway's error code (upstream_unreachable · upstream_timeout · …).
    outcome: str
    latency_ms: float


# gc=False: records never take part in reference cycles, and 10,000 of them buffered should not
# make every garbage collection walk them.
class CallRecord(msgspec.Struct, kw_only=True, gc=False):
    """One request through the gateway. Upstream keys appear only by id, never the secret."""

    # The store's row id; 0 until stored.
    id: int = 0
    request_id: str
    # Wall-clock start and end, Unix seconds.
    ts: float
    ts_end: float
    tenant: str = ""
    app: str = ""
    # The consumer key's id (never the key).
    key_id: str = ""
    # Canonical route name (chat, embeddings, models, messages, …); "" when no route matched.
    # Never the raw path: it labels metrics, so it must come from a small fixed set.
    route: str = ""
    # The model the caller asked for, and the one the provider served.
    model: str = ""
    served_model: str = ""
    provider: str = ""
    # "provider/upstream model" of the deployment that answered.
    deployment: str = ""
    # Id of the upstream key of the final attempt.
    upstream_key: str = ""
    attempts: list[Attempt] = msgspec.field(default_factory=list)
    status: int
    error_type: str = ""
    error_code: str = ""
    # Whose limit or budget refused the call, as admission said (tenant, app, key, model,
    # service; pool when every upstream key was cooling); "" when none did.
    limit_scope: str = ""
    latency_ms: float
    # Time spent waiting on upstreams (all attempts); None when no upstream was called.
    upstream_ms: float | None = None
    # Time until the first response byte went to the caller.
    ttfb_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # The part of prompt_tokens served from the provider's prompt cache.
    cached_tokens: int = 0
    total_tokens: int = 0
    # USD, from the price table (gateway/calllog/pricing.py).
    cost: float = 0.0
    streamed: bool = False
    # The caller's parameters the target's rules left out, and those clamped to the target's
    # range (gateway/models/params.py), comma-separated; "" when none.
    dropped_params: str = ""
    clamped_params: str = ""
    client: str = ""
    user_agent: str = ""
    # Captured bodies (redacted, size-capped; gateway/calllog/capture.py); "" when not captured.
    request_body: str = ""
    response_body: str = ""


FIELDS: tuple[str, ...] = CallRecord.__struct_fields__
