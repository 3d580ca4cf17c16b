"""The call log in SQL, whichever database holds it: the statements, the rollup sums a batch adds,
and the reads (listings, following, aggregates) written once for SQLite (sqlite.py) and
PostgreSQL (postgres.py). Statements use `?` placeholders and SQL both accept."""

from __future__ import annotations

import math
from abc import abstractmethod
from bisect import bisect_left
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import msgspec

from .record import FIELDS, Attempt, CallRecord
from .rollup import (
    DIMENSIONS,
    HISTOGRAM_COLUMNS,
    LATENCY_BOUNDS_MS,
    MEASURES,
    MINUTE,
    Dimension,
    bucket_start,
)
from .store import Aggregate, CallFilter, CallLog, CallPage

COLUMNS = tuple(f for f in FIELDS if f != "id")
SELECT = f"SELECT id, {', '.join(COLUMNS)} FROM calls"

_DIMS = ", ".join(DIMENSIONS)
ROLLUP_COLUMNS = ("grain", "bucket", *DIMENSIONS, *MEASURES, *HISTOGRAM_COLUMNS)
SUMMED = (*MEASURES, *HISTOGRAM_COLUMNS)
# Sums of these are fractional; every other sum is a count (cast back to an integer: PostgreSQL
# sums a bigint column into a numeric).
_FRACTIONAL = frozenset(("cost", "latency_ms_sum", "upstream_ms_sum"))
# A batch is rolled up in two steps, both in the batch's transaction. First its records are summed
# per minute and dimensions (`add_to_rollup`, in C in SQLite's native writer: one pass over the
# records the writer holds anyway). Then each of those (usually far fewer) rows is added into its
# bucket of every grain with one upsert: a row whose bucket and dimensions are new is inserted,
# else its sums are added to. No temporary table and no GROUP BY: with many distinct consumers
# nearly every row is new, and those two steps cost more than the upserts themselves. The minute
# bucket is rollup.bucket_start(), int(ts / 60) * 60; an hour's or a day's is that // grain * grain.
UPSERT = f"""
    INSERT INTO call_rollups ({", ".join(ROLLUP_COLUMNS)})
    VALUES ({", ".join("?" * len(ROLLUP_COLUMNS))})
    ON CONFLICT (grain, bucket, {_DIMS}) DO UPDATE SET
        {", ".join(f"{c} = call_rollups.{c} + excluded.{c}" for c in SUMMED)}
"""
_decode_attempts = msgspec.json.Decoder(list[Attempt]).decode


class SQLCallLog(CallLog):
    """The reads of a call log in SQL; a backend gives `_rows` and the writes."""

    @abstractmethod
    def _rows(self, sql: str, args: Sequence[Any]) -> list[Sequence[Any]]: ...

    def calls(self, where: CallFilter, *, cursor: str | None = None, limit: int = 100) -> CallPage:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        clauses, args = call_filter(where)
        if cursor is not None:
            ts, row_id = parse_cursor(cursor)
            clauses.append("ts <= ? AND (ts < ? OR id < ?)")
            args += [ts, ts, row_id]
        sql = SELECT + where_clause(clauses) + " ORDER BY ts DESC, id DESC LIMIT ?"
        rows = self._rows(sql, [*args, limit + 1])
        records = [record(r) for r in rows[:limit]]
        more = len(rows) > limit
        return CallPage(calls=records, next_cursor=make_cursor(records[-1]) if more else None)

    def tail(self, where: CallFilter, after_id: int, limit: int = 500) -> list[CallRecord]:
        clauses, args = call_filter(where)
        clauses.append("id > ?")
        sql = SELECT + where_clause(clauses) + " ORDER BY id LIMIT ?"
        return [record(r) for r in self._rows(sql, [*args, after_id, limit])]

    def last_id(self) -> int:
        return int(self._rows("SELECT COALESCE(MAX(id), 0) FROM calls", ())[0][0])

    def aggregate(
        self, grain: int, where: CallFilter, group_by: Sequence[Dimension] = (), by_bucket: bool = False
    ) -> list[Aggregate]:
        unknown = [d for d in group_by if d not in DIMENSIONS]
        if unknown:
            raise ValueError(f"cannot group by {', '.join(unknown)}; choose from {', '.join(DIMENSIONS)}")
        clauses, args = dimension_filter(where)
        clauses.insert(0, "grain = ?")
        args.insert(0, grain)
        if where.since is not None:
            clauses.append("bucket >= ?")
            args.append(bucket_start(where.since, grain))
        if where.until is not None:
            clauses.append("bucket < ?")
            args.append(math.ceil(where.until))  # buckets are whole seconds
        keys = [*group_by, *(["bucket"] if by_bucket else [])]
        sums = ", ".join(f"SUM({c})" if c in _FRACTIONAL else f"CAST(SUM({c}) AS BIGINT)" for c in SUMMED)
        sql = f"SELECT {', '.join([*keys, sums])} FROM call_rollups" + where_clause(clauses)
        if keys:
            sql += f" GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}"
        rows = self._rows(sql, args)
        n, m = len(group_by), len(keys)
        out = []
        for r in rows:
            if r[m] is None:  # SUM over no rows (no GROUP BY): nothing matched
                continue
            measures = dict(zip(MEASURES, r[m : m + len(MEASURES)], strict=True))
            out.append(
                Aggregate(
                    group=tuple(r[:n]),
                    bucket=r[n] if by_bucket else None,
                    histogram=list(r[m + len(MEASURES) :]),
                    **measures,
                )
            )
        return out


def make_cursor(rec: CallRecord) -> str:
    # The sort key of the last row shown: repr() round-trips a float exactly.
    return f"{rec.ts!r}_{rec.id}"


def parse_cursor(cursor: str) -> tuple[float, int]:
    ts, sep, row_id = cursor.rpartition("_")
    try:
        if not sep:
            raise ValueError
        return float(ts), int(row_id)
    except ValueError:
        raise ValueError(f"invalid cursor {cursor!r}: pass back a next_cursor from a previous page") from None


def record(row: Sequence[Any]) -> CallRecord:
    fields = dict(zip(FIELDS, row, strict=True))
    fields["attempts"] = _decode_attempts(fields["attempts"])
    fields["streamed"] = bool(fields["streamed"])
    return CallRecord(**fields)


ERRORS_FROM = 400  # the partial index calls_errors_ts holds rows with status >= this


def dimension_filter(where: CallFilter) -> tuple[list[str], list[Any]]:
    """Clauses for the filters rollups can answer too (column names are ours, never a caller's)."""
    clauses: list[str] = []
    args: list[Any] = []
    for column in ("tenant", "app", "key_id", "model", "provider", "upstream_key"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    if where.status_min is not None:
        clauses.append("status >= ?")
        args.append(where.status_min)
        if where.status_min >= ERRORS_FROM:
            # The same bound as a literal lets the database use the partial index on error rows.
            clauses.append(f"status >= {ERRORS_FROM}")
    if where.status_max is not None:
        clauses.append("status <= ?")
        args.append(where.status_max)
    return clauses, args


def call_filter(where: CallFilter) -> tuple[list[str], list[Any]]:
    clauses, args = dimension_filter(where)
    if where.since is not None:
        clauses.append("ts >= ?")
        args.append(where.since)
    if where.until is not None:
        clauses.append("ts < ?")
        args.append(where.until)
    if where.request_id is not None:
        clauses.append("request_id = ?")
        args.append(where.request_id)
    for word in (where.search or "").split():
        clauses.append(_SEARCH_CLAUSE)
        args.extend([f"%{_like_escaped(word.lower())}%"] * len(SEARCHED))
    return clauses, args


# What a free-text search looks in: the call's id, who called, what for, what answered and how
# it failed (the log keeps an error's type and code, not its message).
SEARCHED = (
    "request_id", "tenant", "app", "key_id", "model", "served_model", "deployment", "upstream_key",
    "error_type", "error_code", "limit_scope",
)  # fmt: skip
# lower() on both sides, not ILIKE or SQLite's case-blind LIKE: the same match in either database.
_SEARCH_CLAUSE = "(" + " OR ".join(f"lower({c}) LIKE ? ESCAPE '\\'" for c in SEARCHED) + ")"


def _like_escaped(text: str) -> str:
    """`text` matched literally by LIKE: its wildcards and the escape character escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def where_clause(clauses: list[str]) -> str:
    return " WHERE " + " AND ".join(clauses) if clauses else ""


_dimensions = attrgetter(*DIMENSIONS)
# Positions in a summed row: the minute's bucket, the dimensions, MEASURES, the histogram.
_CALLS = 1 + len(DIMENSIONS)
_ERRORS, _PROMPT, _COMPLETION, _CACHED, _COST, _LATENCY, _UPSTREAM = range(_CALLS + 1, _CALLS + 8)
_HISTOGRAM = _CALLS + len(MEASURES)
assert MEASURES == (
    "calls", "errors", "prompt_tokens", "completion_tokens", "cached_tokens", "cost", "latency_ms_sum",
    "upstream_ms_sum",
)  # fmt: skip
_ZEROS = (0, 0, 0, 0, 0, 0.0, 0.0, 0.0, *([0] * len(HISTOGRAM_COLUMNS)))


def add_to_rollup(sums: dict[tuple[Any, ...], list[Any]], records: Sequence[CallRecord]) -> None:
    """Add `records` into `sums`, per minute and dimensions, as rows of bucket, dimensions,
    MEASURES and histogram: the sums rollups add up (the same as a GROUP BY over the stored rows,
    without reading them back)."""
    bounds = LATENCY_BOUNDS_MS
    for r in records:
        key = (int(r.ts / MINUTE) * MINUTE, *_dimensions(r))
        row = sums.get(key)
        if row is None:
            row = sums[key] = [*key, *_ZEROS]
        latency = r.latency_ms
        row[_CALLS] += 1
        if r.status >= 400:
            row[_ERRORS] += 1
        row[_PROMPT] += r.prompt_tokens
        row[_COMPLETION] += r.completion_tokens
        row[_CACHED] += r.cached_tokens
        row[_COST] += r.cost
        row[_LATENCY] += latency
        if r.upstream_ms is not None:
            row[_UPSTREAM] += r.upstream_ms
        row[_HISTOGRAM + bisect_left(bounds, latency)] += 1  # rollup.latency_bucket()
