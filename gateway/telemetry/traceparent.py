"""W3C Trace Context (https://www.w3.org/TR/trace-context/): a caller's `traceparent` read and
checked, and written again for the upstream. A header that breaks the format is ignored, as the
specification says (the trace restarts here)."""

from __future__ import annotations

_HEX = frozenset("0123456789abcdef")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


class TraceParent:
    __slots__ = ("flags", "parent_id", "trace_id")

    def __init__(self, trace_id: str, parent_id: str, flags: int):
        self.trace_id = trace_id  # 32 lower-case hex digits
        self.parent_id = parent_id  # 16: the caller's span
        self.flags = flags  # bit 0: the caller samples this trace

    @property
    def sampled(self) -> bool:
        return bool(self.flags & 1)

    def header(self, span_id: str | None = None) -> str:
        """The header for the next hop: its parent is `span_id` (ours), else the caller's own."""
        return f"00-{self.trace_id}-{span_id or self.parent_id}-{self.flags:02x}"


def parse(value: str | None) -> TraceParent | None:
    """`00-<trace id>-<parent id>-<flags>` (a later version's header is read for these four fields,
    as the specification asks); None for anything else."""
    if value is None or len(value) < 55:
        return None
    value = value.strip().lower()
    version, trace_id, parent_id, flags = value[:2], value[3:35], value[36:52], value[53:55]
    if value[2] != "-" or value[35] != "-" or value[52] != "-" or version == "ff":
        return None
    if version == "00" and len(value) != 55:
        return None
    if len(value) > 55 and value[55] != "-":
        return None
    if not _HEX.issuperset(version + trace_id + parent_id + flags):
        return None
    if trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return None
    return TraceParent(trace_id, parent_id, int(flags, 16))


def upstream_lines(parent: TraceParent, state: str | None) -> bytes:
    """The caller's trace context as header lines for the upstream, unchanged (a gateway that
    records no span of its own passes it on as it came)."""
    lines = b"traceparent: %s\r\n" % parent.header().encode()
    if state and "\r" not in state and "\n" not in state and state.isascii():
        lines += b"tracestate: %s\r\n" % state.encode()
    return lines
