"""The access log: one line per request on stdout, text (logfmt) or JSON, written by a thread of
the worker so the event loop never waits on a pipe or a disk.

On the request path `log()` appends the finished trace to a bounded deque and returns (nothing is
formatted there). The writer thread wakes every `FLUSH_S` (at once when the deque is half full),
formats what is waiting and writes it with one `write` per batch. A line that finds the deque full
is dropped and counted (`aigw_access_log_dropped_total{reason="buffer_full"}`), and so is a batch
stdout refuses (`reason="write_error"`): lines are lost only where a metric says so, never
silently, and a slow reader of stdout never slows a request. At shutdown the rest is written.

What a line holds comes from the call's trace (gateway/calllog/trace.py): who called (tenant, app,
consumer key id), what (route, model, model group), where it went (deployment, provider key id,
attempts, the last upstream status), how it ended (status, error code, whether the client left),
sizes, times and tokens, and the caller's W3C trace id. Never a secret: keys appear by id only,
no header or body is logged.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec

from ..calllog.trace import Trace
from .logs import utc_time

log = logging.getLogger("aigw.access")

FLUSH_S = 0.1


class AccessLine(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One request, as the JSON access log writes it (the text format has the same fields)."""

    time: str  # when the request arrived, UTC ISO 8601
    request_id: str
    method: str
    path: str
    route: str = ""
    status: int
    tenant: str = ""
    app: str = ""
    key_id: str = ""  # the consumer key's id
    model: str = ""  # as the caller asked
    model_group: str = ""
    deployment: str = ""  # provider/upstream model that served (or last failed)
    upstream_key: str = ""  # the provider key's id
    attempts: int = 0
    upstream_status: int | None = None  # the last attempt's (0: no answer)
    error: str = ""  # the error code the caller got
    client_left: bool = False  # the caller closed the connection before the end
    streamed: bool = False
    bytes_in: int = 0
    bytes_out: int = 0
    ttfb_ms: float | None = None
    latency_ms: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    trace_id: str = ""
    client: str = ""


def line_of(trace: Trace) -> AccessLine:
    rec = trace.rec
    attempts = rec.attempts
    return AccessLine(
        time=utc_time(rec.ts),
        request_id=rec.request_id,
        method=trace.method,
        path=trace.path,
        route=rec.route,
        status=rec.status,
        tenant=rec.tenant,
        app=rec.app,
        key_id=rec.key_id,
        model=rec.model,
        model_group=trace.group,
        deployment=rec.deployment,
        upstream_key=rec.upstream_key,
        attempts=len(attempts),
        upstream_status=attempts[-1].status if attempts else None,
        error=rec.error_code,
        client_left=trace.left,
        streamed=rec.streamed,
        bytes_in=trace.bytes_in,
        bytes_out=trace.bytes_out,
        ttfb_ms=None if rec.ttfb_ms is None else round(rec.ttfb_ms, 3),
        latency_ms=round(rec.latency_ms, 3),
        prompt_tokens=rec.prompt_tokens,
        completion_tokens=rec.completion_tokens,
        trace_id=trace.trace_id,
        client=rec.client,
    )


_encoder = msgspec.json.Encoder()
_FIELDS = AccessLine.__struct_fields__


def json_line(line: AccessLine) -> bytes:
    return _encoder.encode(line) + b"\n"


def text_line(line: AccessLine) -> bytes:
    """logfmt: `key=value` pairs, a value quoted when it holds a space, a quote or `=`; fields at
    their defaults left out, as in the JSON."""
    parts = []
    defaults = AccessLine.__struct_defaults__
    offset = len(_FIELDS) - len(defaults)
    for i, name in enumerate(_FIELDS):
        value = getattr(line, name)
        if i >= offset and value == defaults[i - offset]:
            continue
        parts.append(f"{name}={_logfmt(value)}")
    return (" ".join(parts) + "\n").encode("utf-8", "replace")


def _logfmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if not text or any(c in text for c in ' "=\\') or not text.isprintable():
        return _encoder.encode(text).decode()  # a JSON string: quoted, escaped
    return text


class AccessLog:
    """One per worker. `mode`: `on` or `errors` (the caller makes none for `off`)."""

    def __init__(
        self,
        mode: str,
        format: str,
        capacity: int,
        on_drop: Callable[[str, int], None],
        fd: int = 1,
    ):
        self.mode = mode
        self.format = format
        self.capacity = capacity
        self._on_drop = on_drop  # (reason, count), called on the event loop's thread only
        self._fd = fd
        self._pending: deque[Trace] = deque()
        self._wake = threading.Event()
        self._closing = False
        # Lines the writer lost, counted by it alone; the loop reports what it has not yet.
        self._lost = 0
        self._lost_reported = 0
        self._thread = threading.Thread(target=self._run, name="aigw-access-log", daemon=True)
        self._thread.start()

    def configure(self, mode: str, format: str, capacity: int) -> None:
        """A reload's settings (`mode` off: the caller stops logging and closes this)."""
        self.mode, self.format, self.capacity = mode, format, capacity

    def log(self, trace: Trace) -> None:
        """Once per request, after its last byte. Never blocks, never raises."""
        if self.mode == "errors" and trace.rec.status < 400 and not trace.left:
            return
        pending = self._pending
        if len(pending) >= self.capacity:
            self._on_drop("buffer_full", 1)
        else:
            pending.append(trace)
            if len(pending) * 2 == self.capacity:
                self._wake.set()
        lost = self._lost
        if lost != self._lost_reported:
            self._on_drop("write_error", lost - self._lost_reported)
            self._lost_reported = lost

    def close(self) -> None:
        """Write every line still waiting, stop the writer (graceful shutdown)."""
        self._closing = True
        self._wake.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._closing:
            self._wake.wait(FLUSH_S)
            self._wake.clear()
            self._write_batch()
        self._write_batch()

    def _write_batch(self) -> None:
        pending = self._pending
        if not pending:
            return
        encode = json_line if self.format == "json" else text_line
        lines = []
        for _ in range(len(pending)):
            trace = pending.popleft()
            try:
                lines.append(encode(line_of(trace)))
            except Exception:  # a line that cannot be made is one lost line, said in the log
                log.exception("access-log line of %s lost", trace.rec.request_id)
                self._lost += 1
        data = b"".join(lines)
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError:
            self._lost += sum(1 for _ in lines)  # the batch's lines, as far as anyone can tell
