"""Admin API endpoints for the call log, analytics and /metrics (mounted by gateway/admin/app.py);
the queries they answer with are gateway/analytics'.

Every query runs in a thread: a large range over the call log must not stall the admin loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from ..analytics import export, queries
from ..analytics.params import call_filter, parse_grain, parse_group_by
from ..calllog.backend import open_call_log
from ..calllog.record import CallRecord
from ..calllog.store import CallFilter, CallLog, CallPage
from ..metrics.node import CONTENT_TYPE, KeyStateLike, NodeMetrics
from ..store import Store
from .responses import error_response, json_response
from .routes import Endpoint, Param

T = TypeVar("T")
DEFAULT_WINDOW_S = 86400.0
MAX_PAGE = 1000
EXPORT_PAGE = 1000

_FILTERS = (
    Param("since", "query", "Start: a duration ago (30m, 6h, 7d), Unix seconds or ISO 8601"),
    Param("until", "query", "End (exclusive), same forms; default now"),
    Param("tenant", "query", "Only this tenant"),
    Param("app", "query", "Only this app"),
    Param("key_id", "query", "Only this consumer key id"),
    Param("model", "query", "Only this requested model"),
    Param("provider", "query", "Only this provider"),
    Param("upstream_key", "query", "Only this upstream key id"),
    Param("status", "query", "A code (429), a class (5xx), 'error' (>= 400) or 'ok'"),
)
_FORMAT = Param("format", "query", "json (default) or csv")
_SEARCH = Param(
    "q",
    "query",
    "Words, each found (case-insensitively) in the call's request id, tenant, app, consumer key "
    "id, model, deployment, provider key or error type or code",
)
_STATS = (
    *_FILTERS,
    Param("group_by", "query", "Comma-separated: tenant, app, key_id, model, provider, deployment, …"),
    Param("grain", "query", "minute, hour or day (default: chosen from the range)"),
    _FORMAT,
)


class ObservabilityAPI:
    def __init__(
        self,
        store: Store,
        key_states: Callable[[], Iterable[KeyStateLike]] | None = None,
        pool_headroom: Callable[[], dict[str, float]] | None = None,
        budget_used: Callable[[], dict[tuple[str, str, str, str], float]] | None = None,
        cluster: Callable[[], Any] | None = None,
    ):
        self._store = store
        self._log: CallLog | None = None
        self._budget_used = budget_used
        self._budgets_now: dict[tuple[str, str, str, str], float] = {}
        self.metrics = NodeMetrics.from_env(
            key_states, pool_headroom, None if budget_used is None else lambda: self._budgets_now, cluster
        )

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "GET",
                "/admin/calls",
                "Call log, newest first; pass next_cursor back as cursor for the next page",
                CallPage,
                self.list_calls,
                params=(
                    *_FILTERS,
                    Param("request_id", "query", "The call with this x-request-id"),
                    _SEARCH,
                    Param("cursor", "query", "next_cursor of the previous page"),
                    Param("limit", "query", f"Calls per page, at most {MAX_PAGE} (default 100)"),
                    _FORMAT,
                ),
            ),
            Endpoint(
                "GET",
                "/admin/calls/export",
                "Every matching call, streamed as CSV (default) or NDJSON (format=ndjson)",
                list[CallRecord],
                self.export_calls,
                params=(
                    *_FILTERS,
                    _SEARCH,
                    Param("limit", "query", "At most this many calls"),
                    Param("format", "query", "csv (default) or ndjson"),
                ),
            ),
            Endpoint(
                "GET",
                "/admin/stats/summary",
                "Totals (calls, error rate, tokens, cost, latency percentiles), per group if asked; "
                "default range: the last 24 h",
                queries.Summary,
                self.stats_summary,
                params=_STATS,
            ),
            Endpoint(
                "GET",
                "/admin/stats/series",
                "Time series of the same stats per bucket, per group if asked",
                queries.Series,
                self.stats_series,
                params=_STATS,
            ),
            Endpoint(
                "GET",
                "/admin/stats/top",
                "The groups with the highest metric (busiest, costliest, most errors, slowest)",
                queries.Top,
                self.stats_top,
                params=(
                    *_FILTERS,
                    Param("by", "query", "Dimension(s) to rank, comma-separated (required)"),
                    Param("metric", "query", f"One of {', '.join(queries.TOP_METRICS)} (default calls)"),
                    Param("n", "query", "How many (default 10)"),
                    Param("grain", "query", "minute, hour or day"),
                    _FORMAT,
                ),
            ),
            Endpoint(
                "GET",
                "/admin/stats/percentiles",
                "Latency percentiles (ms) from the rollup histograms, per group if asked",
                list[queries.Percentiles],
                self.stats_percentiles,
                params=(
                    *_STATS,
                    Param("q", "query", "Quantiles, comma-separated (default 0.5,0.9,0.95,0.99)"),
                ),
            ),
        ]

    # -- handlers ------------------------------------------------------------------------------
    async def list_calls(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        try:
            where = _listed(q)
            limit = _int(q.get("limit"), 100, 1, MAX_PAGE, "limit")
            page = await self._run(lambda log: log.calls(where, cursor=q.get("cursor"), limit=limit))
        except ValueError as exc:
            return _bad(exc)
        if q.get("format") == "csv":
            return _csv("".join(export.calls_csv(page.calls)), page.next_cursor)
        return json_response(page)

    async def export_calls(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        fmt = q.get("format", "csv")
        try:
            where = _listed(q)
            limit = _int(q.get("limit"), None, 1, None, "limit")
            if fmt not in ("csv", "ndjson"):
                raise ValueError("format must be csv or ndjson")
            log = self._call_log()
        except ValueError as exc:
            return _bad(exc)
        ctype = "text/csv" if fmt == "csv" else "application/x-ndjson"
        resp = web.StreamResponse(headers={"Content-Type": f"{ctype}; charset=utf-8"})
        resp.headers["Content-Disposition"] = f'attachment; filename="aigw-calls.{fmt}"'
        await resp.prepare(request)
        loop = asyncio.get_running_loop()
        # Pages are fetched in a thread and written as they come: memory stays one page deep.
        pages = export.iter_calls(log, where, limit=limit)
        first = True
        while True:
            batch = await loop.run_in_executor(None, _next_page, pages, EXPORT_PAGE)
            if fmt == "csv":
                for chunk in export.calls_csv(batch, header=first):
                    await resp.write(chunk.encode())
            else:
                for line in export.ndjson(batch):
                    await resp.write(line)
            first = False
            if len(batch) < EXPORT_PAGE:
                break
        await resp.write_eof()
        return resp

    async def stats_summary(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        try:
            where, group_by, grain = _stats_args(q)
            result = await self._run(lambda log: queries.summary(log, where, group_by, grain))
        except ValueError as exc:
            return _bad(exc)
        if q.get("format") == "csv":
            rows = result.groups or [queries.GroupStats(group={}, **msgspec.structs.asdict(result.totals))]
            return _csv(export.rows_csv(rows))
        return json_response(result)

    async def stats_series(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        try:
            where, group_by, grain = _stats_args(q)
            result = await self._run(lambda log: queries.series(log, where, group_by, grain))
        except ValueError as exc:
            return _bad(exc)
        if q.get("format") == "csv":
            rows = [
                queries.GroupStats(group=line.group | {"bucket": p.bucket}, **_stats_fields(p))
                for line in result.lines
                for p in line.points
            ]
            return _csv(export.rows_csv(rows))
        return json_response(result)

    async def stats_top(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        try:
            where = call_filter(q, default_since_s=DEFAULT_WINDOW_S)
            by = parse_group_by(q.get("by"))
            n = _int(q.get("n"), 10, 1, 1000, "n")
            grain = parse_grain(q.get("grain"))
            metric = q.get("metric", "calls")
            result = await self._run(lambda log: queries.top(log, where, by, metric, n, grain))
        except ValueError as exc:
            return _bad(exc)
        if q.get("format") == "csv":
            return _csv(export.rows_csv(result.rows))
        return json_response(result)

    async def stats_percentiles(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        try:
            where, group_by, grain = _stats_args(q)
            text = q.get("q") or "0.5,0.9,0.95,0.99"
            try:
                qs = [float(x) for x in text.split(",") if x.strip()]
            except ValueError:
                raise ValueError(f"invalid quantiles {text!r}: use numbers like 0.5,0.99") from None
            result = await self._run(lambda log: queries.percentiles(log, where, qs, group_by, grain))
        except ValueError as exc:
            return _bad(exc)
        if q.get("format") == "csv":
            return _csv(export.rows_csv(result))
        return json_response(result)

    async def metrics_text(self, request: web.Request) -> web.Response:
        # The store's connection is this loop's: budgets are read here, the metric files in a thread.
        if self._budget_used is not None:
            self._budgets_now = self._budget_used()
        body = await asyncio.get_running_loop().run_in_executor(None, self.metrics.render)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    async def close(self, app: web.Application | None = None) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- helpers -------------------------------------------------------------------------------
    def _call_log(self) -> CallLog:
        if self._log is None:
            self._log = open_call_log(self._store)
        return self._log

    async def _run(self, query: Callable[[CallLog], T]) -> T:
        log = self._call_log()
        return await asyncio.get_running_loop().run_in_executor(None, query, log)


def _stats_args(q: Any) -> tuple[Any, Any, int | None]:
    return (
        call_filter(q, default_since_s=DEFAULT_WINDOW_S),
        parse_group_by(q.get("group_by")),
        parse_grain(q.get("grain")),
    )


def _stats_fields(s: queries.Stats) -> dict[str, Any]:
    return {f: getattr(s, f) for f in queries.Stats.__struct_fields__}


def _next_page(pages: Any, n: int) -> list[CallRecord]:
    out = []
    for rec in pages:
        out.append(rec)
        if len(out) >= n:
            break
    return out


def _int(text: str | None, default: Any, low: int, high: int | None, name: str) -> Any:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number") from None
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be between {low} and {high}" if high else f"{name} must be >= {low}")
    return value


def _csv(text: str, next_cursor: str | None = None) -> web.Response:
    resp = web.Response(text=text, content_type="text/csv")
    if next_cursor is not None:
        # CSV has no room for it: the next page's cursor travels in a header.
        resp.headers["x-next-cursor"] = next_cursor
    return resp


def _listed(q: Mapping[str, str]) -> CallFilter:
    """The calls a listing or an export covers: the filters, and `q`'s words to search for."""
    return call_filter({**q, "search": q.get("q")})


def _bad(exc: ValueError) -> web.Response:
    return error_response(400, "invalid_parameter", str(exc))
