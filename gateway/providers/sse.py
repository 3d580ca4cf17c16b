"""Incremental server-sent-events decoder: bytes split anywhere in, complete `data` payloads out.

Memory is bounded by one event: only the unfinished line and the data lines of the event being
read are kept. Providers end lines with `\\n` or `\\r\\n` (a lone `\\r` is not used by any of
them and is not treated as a line end). `event:`, `id:`, `retry:` and comments are skipped: every
payload these translators read names its own type in its JSON.
"""

from __future__ import annotations

MAX_EVENT_BYTES = 32 * 1024 * 1024  # a bigger event means a broken upstream, not a big answer


class SSEError(Exception):
    pass


class SSEDecoder:
    __slots__ = ("_data", "_line", "_size")

    def __init__(self) -> None:
        self._line = bytearray()  # the line being read, without its newline
        self._data: list[bytes] = []  # data lines of the event being read
        self._size = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        end = chunk.rfind(b"\n")
        if end < 0:
            self._line += chunk
            self._size += len(chunk)
            if self._size > MAX_EVENT_BYTES:
                raise SSEError("stream event too large")
            return []
        head = chunk[:end]
        if self._line:
            self._line += head
            head = bytes(self._line)
            self._line.clear()
        events = self._lines(head)
        rest = chunk[end + 1 :]
        if rest:
            self._line += rest
        self._size = len(self._line) + sum(map(len, self._data))
        if self._size > MAX_EVENT_BYTES:
            raise SSEError("stream event too large")
        return events

    def close(self) -> list[bytes]:
        """End of input: an event the upstream did not terminate with a blank line still counts."""
        tail = bytes(self._line) + b"\n\n"
        self._line.clear()
        return self._lines(tail)

    def _lines(self, block: bytes) -> list[bytes]:
        """Complete lines, their final newline cut off (so the last may still end in its \\r)."""
        # One pass, inlined: this loop runs for every event of every stream.
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n")
            if block.endswith(b"\r"):
                block = block[:-1]
        events: list[bytes] = []
        data = self._data
        for line in block.split(b"\n"):
            if not line:
                if data:
                    events.append(data[0] if len(data) == 1 else b"\n".join(data))
                    data = []
            elif line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])
        self._data = data
        return events
