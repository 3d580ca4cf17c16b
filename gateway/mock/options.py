"""The `mock:` section of a `type: mock` provider: how `aigw serve` runs the mock it starts."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta


class MockOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How the mock `aigw serve` starts for this provider behaves. Its keys are the provider's."""

    latency_ms: Annotated[float, Meta(ge=0, description="added before each answer")] = 0.0
    rpm: Annotated[
        int,
        Meta(
            ge=0,
            description="requests per minute each key may make; over it the mock answers OpenAI's 429 "
            "(`0`: unlimited)",
        ),
    ] = 0
    tpm: Annotated[int, Meta(ge=0, description="tokens per minute each key may use, likewise")] = 0
    window_s: Annotated[
        float, Meta(gt=0, description='the length of the mock\'s rate-limit "minute" (shorter in tests)')
    ] = 60.0
    models: Annotated[list[str], Meta(description="model ids the mock lists at `GET /v1/models`")] = (
        msgspec.field(default_factory=lambda: ["gpt-4o-mini", "text-embedding-3-small"])
    )
    stream_chunks: Annotated[
        Annotated[int, Meta(ge=0)] | None,
        Meta(description="content chunks per streamed answer (none: one per word)"),
    ] = None
    chunk_interval_ms: Annotated[float, Meta(ge=0, description="delay between streamed chunks")] = 0.0
