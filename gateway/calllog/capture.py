"""Body capture: the request and response bodies of a call, kept with its record when its model
group asks for it (`calllog.capture`, `model_groups[].capture`), with secret-bearing JSON fields
redacted and the size capped.

Rendering parses the body once (per SSE event for streams) on the event loop, so it costs a JSON
decode and encode of up to the body per captured call; groups without capture pay nothing."""

from __future__ import annotations

import json
from typing import Any

from ..config.observability import CaptureConfig

REDACTED = "[REDACTED]"


class Capture:
    """One model group's capture settings, applied to raw bodies."""

    __slots__ = ("max_bytes", "redact")

    def __init__(self, cfg: CaptureConfig):
        self.max_bytes = cfg.max_bytes
        self.redact = frozenset(name.lower() for name in cfg.redact)

    def keep(self, received: int) -> int:
        """How many raw bytes of a stream are worth holding before rendering: enough to fill the
        cap after redaction (which rarely grows a body) and to finish the event being cut."""
        return max(0, 2 * self.max_bytes + 1024 - received)

    def render(self, body: bytes) -> str:
        """Redacted, then cut to `max_bytes` with a note of how much was cut."""
        if body.lstrip()[:5] == b"data:" or b"\ndata:" in body[:4096]:
            text = "\n".join(self._sse_line(line) for line in body.decode("utf-8", "replace").split("\n"))
        else:
            text = self._json_text(body)
        return self._cap(text)

    def _sse_line(self, line: str) -> str:
        if not line.startswith("data:"):
            return line
        payload = line[5:].strip()
        if payload == "[DONE]":
            return line
        try:
            return "data: " + self._json(json.loads(payload))
        except ValueError:
            # An event cut where capture stopped reading: it could hold a secret half-written.
            return "data: …[event cut]"

    def _json_text(self, raw: bytes) -> str:
        try:
            data = json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")  # a whole body that is not JSON: kept as text
        return self._json(data)

    def _json(self, data: Any) -> str:
        return json.dumps(self._redacted(data), ensure_ascii=False, separators=(",", ":"))

    def _redacted(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: REDACTED if k.lower() in self.redact else self._redacted(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redacted(v) for v in value]
        return value

    def _cap(self, text: str) -> str:
        encoded = text.encode()
        if len(encoded) <= self.max_bytes:
            return text
        kept = encoded[: self.max_bytes].decode("utf-8", "ignore")
        return f"{kept}…[{len(encoded) - len(kept.encode())} more bytes]"
