"""Export call records and stats rows as CSV or NDJSON, streamed page by page."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from ..calllog.record import FIELDS, CallRecord
from ..calllog.store import CallFilter, CallLog

_json = msgspec.json.Encoder()


def iter_calls(
    log: CallLog, where: CallFilter, *, limit: int | None = None, page: int = 1000
) -> Iterator[CallRecord]:
    """Every matching call, newest first, one page at a time (bounded memory)."""
    cursor: str | None = None
    left = limit
    while left is None or left > 0:
        batch = log.calls(where, cursor=cursor, limit=page if left is None else min(page, left))
        yield from batch.calls
        if left is not None:
            left -= len(batch.calls)
        if batch.next_cursor is None:
            return
        cursor = batch.next_cursor


def calls_csv(records: Iterable[CallRecord], header: bool = True) -> Iterator[str]:
    """CSV text in chunks: one column per record field; attempts as JSON."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if header:
        writer.writerow(FIELDS)
    for rec in records:
        row = list(msgspec.structs.astuple(rec))
        row[FIELDS.index("attempts")] = _json.encode(rec.attempts).decode()
        writer.writerow(["" if v is None else v for v in row])
        if buf.tell() > 64 * 1024:
            yield _take(buf)
    yield _take(buf)


def ndjson(items: Iterable[Any]) -> Iterator[bytes]:
    for item in items:
        yield _json.encode(item) + b"\n"


def rows_csv(rows: Iterable[msgspec.Struct]) -> str:
    """Stats rows (GroupStats, SeriesPoint, …) as CSV; a `group` dict becomes one column per key."""
    flat = [_flatten(msgspec.to_builtins(r)) for r in rows]
    if not flat:
        return ""
    columns: list[str] = []
    for row in flat:
        columns += [c for c in row if c not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(flat)
    return buf.getvalue()


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(value)
        else:
            out[key] = "" if value is None else value
    return out


def _take(buf: io.StringIO) -> str:
    text = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    return text
