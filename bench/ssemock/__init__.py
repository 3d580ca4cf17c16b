"""The `stream` scenario's upstream: ssemock.c (beside this file) serving the stream that the
project's Python mock (python -m gateway.mock) sends for the scenario's request.

The Python mock is asked once, unpaced, for the scenario's request with and without
`stream_options.include_usage` (aigw adds it upstream); its answers are cut into the writes the
Python mock paces (head + role event + first content event; one content event each; the last
one with the finish, usage and [DONE] events), and the values that differ per request are
replaced by placeholders that ssemock.c fills in. See ssemock.c for the file format.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

from .. import cbuild, mock
from ..aigw import PROVIDER_KEY
from ..payloads import CHAT_PATH
from ..procs import Child, Processes, pinned

SOURCE = Path(__file__).with_name("ssemock.c")
_LISTENING = re.compile(r"ssemock listening on (http://\S+)")
_END = b"0\r\n\r\n"

# Placeholder bytes, as ssemock.c reads them.
COMPLETION_ID, REQUEST_ID, CREATED, DATE, CONNECTION = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"


def binary() -> Path:
    return cbuild.binary(SOURCE, "to compile the paced SSE upstream of the stream scenario")


def with_usage(body: str) -> str:
    """`body` asking for the usage chunk, as aigw asks its OpenAI upstreams."""
    doc = json.loads(body)
    doc["stream_options"] = {**doc.get("stream_options", {}), "include_usage": True}
    return json.dumps(doc, separators=(",", ":"))


def request(url: str, body: str, headers: dict[str, str]) -> bytes:
    """POST `body` to `url` on a fresh keep-alive connection; the raw chunked response."""
    parts = urlsplit(url)
    lines = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    raw = ("\r\n".join(lines) + "\r\n\r\n" + body).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(raw)
        got = b""
        while not (b"\r\n\r\n" in got and got.endswith(b"\r\n" + _END)):
            data = sock.recv(65536)
            if not data:
                raise ConnectionError(f"{url} closed the connection mid-response: {got[-200:]!r}")
            got += data
    return got


def split_events(response: bytes) -> tuple[bytes, list[bytes]]:
    """The head and the chunk frames (one SSE event each) of a chunked response."""
    head, _, body = response.partition(b"\r\n\r\n")
    frames = []
    while body != _END:
        size_line = body.partition(b"\r\n")[0]
        end = len(size_line) + 2 + int(size_line, 16) + 2
        frames.append(body[:end])
        body = body[end:]
    return head + b"\r\n\r\n", frames


def template(response: bytes, chunks: int) -> bytes:
    """The writes of one paced answer with placeholders, NUL-separated, from a recorded answer."""
    head, frames = split_events(response)
    if len(frames) < chunks + 2:
        raise ValueError(f"expected a role event, {chunks} content events and more; got {len(frames)}")
    opening, steps, tail = frames[0], frames[1 : chunks + 1], b"".join(frames[chunks + 1 :]) + _END
    writes = [head + opening + (steps[0] if steps else b"")]
    writes += steps[1:]
    writes[-1] += tail
    out = b"\0".join(writes)
    out = _replace(out, rb"chatcmpl-([0-9a-f]{32})", COMPLETION_ID)
    out = _replace(out, rb"\r\nx-request-id: req_([0-9a-f]{32})\r\n", REQUEST_ID)
    out = _replace(out, rb'"created":(\d{10}),', CREATED)
    out = _replace(out, rb"\r\ndate: ([A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT)\r\n", DATE)
    return _replace(out, rb"\r\nconnection: (keep-alive)\r\n\r\n", CONNECTION)


def _replace(data: bytes, pattern: bytes, marker: bytes) -> bytes:
    """Every match's group 1 replaced by `marker`; the recorded answer must have one value only."""
    found = {m.group(1) for m in re.finditer(pattern, data)}
    if len(found) != 1:
        raise ValueError(f"expected one value for {pattern!r} in the recorded stream, found {found}")
    return data.replace(found.pop(), marker)


def record(mock_url: str, body: str, chunks: int, directory: Path) -> tuple[Path, Path]:
    """Templates for `body` without and with the usage chunk, from an unpaced Python mock."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {PROVIDER_KEY}"}
    paths = directory / "stream-plain.tpl", directory / "stream-usage.tpl"
    for path, variant in zip(paths, (body, with_usage(body)), strict=True):
        path.write_bytes(template(request(mock_url + CHAT_PATH, variant, headers), chunks))
    return paths


def start(
    procs: Processes,
    cores: str | None,
    body: str,
    chunks: int,
    interval_ms: float,
    directory: Path,
    src: Path | None = None,
) -> tuple[str, Child]:
    """Record the Python mock's answers to `body`, then serve them paced; returns the base URL."""
    recorder_url, recorder = mock.start(procs, cores, chunks, 0, src)
    try:
        plain, usage = record(recorder_url, body, chunks, directory)
    finally:
        recorder.stop()
    argv = [str(binary()), f"--plain={plain}", f"--usage={usage}", f"--interval-ms={interval_ms:g}"]
    child = procs.start("ssemock", pinned(argv, cores))
    line = child.wait_for_line(lambda text: _LISTENING.search(text) is not None, timeout_s=30)
    match = _LISTENING.search(line)
    assert match is not None
    return match.group(1), child
