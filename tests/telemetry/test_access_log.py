"""The access log's writer: one line per request in logfmt or JSON, written by its thread; a full
buffer and a stdout that refuses lines are counted, never silent, and never block the caller."""

from __future__ import annotations

import json
import os
import threading

from gateway.calllog.record import Attempt
from gateway.calllog.trace import Trace
from gateway.telemetry.access import AccessLog, line_of, text_line


def finished(rid: str = "req_1_1", status: int = 200) -> Trace:
    trace = Trace(rid, "127.0.0.1:5000", "sdk/1.0", "chat", "POST", "/v1/chat/completions")
    trace.admitted("acme", "tools", "key_abc")
    trace.rec.model = "gpt-4o"
    trace.group = "gpt-4o"
    trace.rec.attempts.append(
        Attempt(provider="openai", key_id="k1", status=429, outcome="rate_limited", latency_ms=1)
    )
    trace.rec.attempts.append(
        Attempt(provider="openai", key_id="k2", status=status, outcome="ok", latency_ms=2)
    )
    trace.rec.upstream_key = "k2"
    trace.rec.deployment = "openai/gpt-4o"
    trace.bytes_in = 100
    trace.answered(status, b'{"id": "x"}')
    trace.usage(10, 5)
    trace.record()
    return trace


def test_a_json_line_has_every_field_of_the_request():
    drops: list[tuple[str, int]] = []
    read, write = os.pipe()
    access = AccessLog("on", "json", 100, lambda r, n: drops.append((r, n)), fd=write)
    access.log(finished())
    access.close()
    os.close(write)
    with os.fdopen(read) as f:
        [line] = f.read().splitlines()
    doc = json.loads(line)
    assert doc["time"].endswith("Z") and "T" in doc["time"]
    assert {k: doc[k] for k in ("request_id", "method", "path", "route", "status", "tenant", "app")} == {
        "request_id": "req_1_1",
        "method": "POST",
        "path": "/v1/chat/completions",
        "route": "chat",
        "status": 200,
        "tenant": "acme",
        "app": "tools",
    }
    assert (doc["key_id"], doc["model_group"], doc["deployment"], doc["upstream_key"]) == (
        "key_abc",
        "gpt-4o",
        "openai/gpt-4o",
        "k2",
    )
    assert (doc["attempts"], doc["upstream_status"], doc["bytes_in"], doc["bytes_out"]) == (2, 200, 100, 11)
    assert (doc["prompt_tokens"], doc["completion_tokens"]) == (10, 5)
    assert doc["ttfb_ms"] >= 0 and doc["latency_ms"] >= doc["ttfb_ms"]
    assert drops == []


def test_logfmt_quotes_what_needs_it():
    trace = finished()
    trace.path = '/v1/chat completions "x"'
    text = text_line(line_of(trace)).decode()
    assert text.endswith("\n") and "\n" not in text[:-1]
    assert 'path="/v1/chat completions \\"x\\""' in text
    assert "status=200" in text and "tenant=acme" in text and "client_left" not in text


def test_errors_mode_logs_only_errors_and_clients_that_left():
    read, write = os.pipe()
    access = AccessLog("errors", "text", 100, lambda r, n: None, fd=write)
    access.log(finished("req_ok"))
    access.log(finished("req_bad", status=502))
    left = finished("req_left")
    left.client_left()
    access.log(left)
    access.close()
    os.close(write)
    with os.fdopen(read) as f:
        lines = f.read().splitlines()
    assert [line.split()[1] for line in lines] == ["request_id=req_bad", "request_id=req_left"]


def test_a_full_buffer_drops_and_counts_and_never_blocks():
    """stdout is a pipe nobody reads: the writer blocks on it, the buffer fills, and every line
    past it is counted as dropped while log() keeps returning at once."""
    drops: list[tuple[str, int]] = []
    read, write = os.pipe()
    os.set_blocking(write, True)
    access = AccessLog("on", "json", 50, lambda r, n: drops.append((r, n)), fd=write)
    for i in range(20_000):  # far more than the pipe (64 KiB) and the buffer hold
        access.log(finished(f"req_{i}"))
    assert sum(n for reason, n in drops if reason == "buffer_full") > 0
    written = bytearray()
    reader = threading.Thread(target=lambda: written.extend(_drain(read)))
    reader.start()
    access.close()
    os.close(write)
    reader.join(10)
    lines = written.decode().splitlines()
    dropped = sum(n for _, n in drops)
    assert len(lines) + dropped == 20_000  # every line written or counted: none lost silently


def test_lines_stdout_refuses_are_counted():
    drops: list[tuple[str, int]] = []
    read, write = os.pipe()
    os.close(read)  # writing now fails: EPIPE
    access = AccessLog("on", "json", 100, lambda r, n: drops.append((r, n)), fd=write)
    for i in range(3):
        access.log(finished(f"req_{i}"))
    access.close()
    access.log(finished("req_after"))  # the loss is reported on the next request
    os.close(write)
    assert ("write_error", 3) in drops


def _drain(fd: int) -> bytes:
    out = b""
    while chunk := os.read(fd, 65536):
        out += chunk
    return out
