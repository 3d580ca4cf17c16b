"""`aigw stats`: totals, trends and the top groups from the rollups, as terminal tables."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from ..analytics import export, queries
from ..analytics.params import parse_grain, parse_group_by
from ..calllog.backend import open_call_log
from ..calllog.rollup import DAY
from .context import Context
from .filters import add_filter_options, count, filter_from, ms, percent, sparkline, tokens, usd
from .output import export_output_option, fold_output, when
from .output import table as columns


def add_stats_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("stats", help="traffic, errors, latency, tokens and cost with trends (from the store)")
    add_filter_options(p)
    p.add_argument("--grain", choices=("minute", "hour", "day"), help="bucket size (default: from the range)")
    p.add_argument("--by", default="model", help="dimension(s) for the table, comma-separated, or 'none'")
    p.add_argument("--top", type=int, default=10, help="rows in the table (default 10)")
    p.add_argument(
        "--sort", default="calls", choices=queries.TOP_METRICS, help="rank rows by (default calls)"
    )
    p.add_argument(
        "--percentiles",
        metavar="Q,Q",
        help="instead: latency percentiles per --by group, e.g. 0.5,0.9,0.99",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="summary, series and table as JSON")
    out.add_argument("--csv", action="store_true", help="the table as CSV")
    export_output_option(out)
    p.set_defaults(
        run=run_stats,
        covers=(
            "GET /admin/stats/summary",
            "GET /admin/stats/series",
            "GET /admin/stats/top",
            "GET /admin/stats/percentiles",
        ),
    )


def run_stats(args: argparse.Namespace, ctx: Context) -> int:
    fold_output(args)
    try:
        where = filter_from(args, default_since_s=DAY)
        grain = parse_grain(args.grain)
        by = () if args.by == "none" else parse_group_by(args.by)
        if args.top < 1:
            raise ValueError("--top must be at least 1")
        quantiles = _quantiles(args.percentiles)
    except ValueError as exc:
        print(f"aigw: {exc}", file=sys.stderr)
        return 2
    store = ctx.open_store(writes=False)
    log = open_call_log(store)
    try:
        if quantiles:
            return _percentiles(queries.percentiles(log, where, quantiles, by, grain), args)
        series = queries.series(log, where, grain=grain)
        grain = series.grain
        where = msgspec.structs.replace(where, since=series.since, until=series.until)
        total = queries.summary(log, where, grain=grain).totals
        table = queries.top(log, where, by, args.sort, args.top, grain) if by else None
        trends = queries.series(log, where, by, grain) if by else None
    finally:
        log.close()
        store.close()
    if args.json:
        doc: dict[str, Any] = {"totals": total, "series": series}
        if table is not None:
            doc["top"] = table
        print(msgspec.json.encode(doc).decode())
    elif args.csv:
        print(export.rows_csv(table.rows if table else []), end="")
    else:
        print(render(total, series, table, trends))
    return 0


def _quantiles(text: str | None) -> list[float]:
    if not text:
        return []
    try:
        qs = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"invalid --percentiles {text!r}: use numbers like 0.5,0.99") from None
    if not all(0 < q <= 1 for q in qs):
        raise ValueError(f"invalid --percentiles {text!r}: each must be above 0 and at most 1")
    return qs


def _percentiles(rows: list[queries.Percentiles], args: argparse.Namespace) -> int:
    if args.json:
        print(msgspec.json.encode(rows).decode())
    elif args.csv:
        print(export.rows_csv(rows), end="")
    else:
        names = list(rows[0].quantiles) if rows else []
        header = ["/".join(rows[0].group) if rows and rows[0].group else "all", "calls", *names]
        cells = [
            ["/".join(str(v) or "-" for v in r.group.values()) or "all", count(r.calls),
             *(ms(r.quantiles[n]) for n in names)]
            for r in rows
        ]  # fmt: skip
        print(columns(header, cells))
    return 0


def render(
    total: queries.Stats,
    series: queries.Series,
    table: queries.Top | None,
    trends: queries.Series | None,
) -> str:
    points = series.lines[0].points if series.lines else []
    grain = queries.GRAIN_NAMES.get(series.grain, f"{series.grain}s")
    lines = [
        f"{when(series.since)} → {when(series.until)}, {len(points)} {grain} buckets",
        "",
        f"  calls    {count(total.calls):>12}  {sparkline([p.calls for p in points])}",
        f"  errors   {count(total.errors):>12}  {sparkline([p.errors for p in points])}"
        f"  {percent(total.error_rate)}",
        f"  tokens   {tokens(total.total_tokens):>12}  {sparkline([p.total_tokens for p in points])}"
        f"  {tokens(total.prompt_tokens)} in · {tokens(total.completion_tokens)} out"
        f" · {tokens(total.cached_tokens)} cached",
        f"  cost     {usd(total.cost):>12}  {sparkline([p.cost for p in points])}",
        f"  latency  p50 {ms(total.latency_ms_p50)} · p95 {ms(total.latency_ms_p95)}"
        f" · p99 {ms(total.latency_ms_p99)} · avg {ms(total.latency_ms_avg)}",
    ]
    if table is not None and table.rows:
        by_group = {tuple(line.group.values()): line.points for line in (trends.lines if trends else [])}
        header = ["/".join(table.by), "calls", "err%", "tokens", "cost", "p50", "p95", "trend"]
        rows = [
            [
                "/".join(str(v) if v != "" else "-" for v in r.group.values()),
                count(r.calls),
                percent(r.error_rate),
                tokens(r.total_tokens),
                usd(r.cost),
                ms(r.latency_ms_p50),
                ms(r.latency_ms_p95),
                sparkline([p.calls for p in by_group.get(tuple(r.group.values()), [])], 24),
            ]
            for r in table.rows
        ]
        lines += ["", *_table(header, rows)]
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    # First column left-aligned, numbers right-aligned, the trend left-aligned.
    def fmt(r: list[str]) -> str:
        cells = [r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:-1], widths[1:-1], strict=True))]
        return "  ".join([*cells, r[-1]]).rstrip()

    return [fmt(header), *(fmt(r) for r in rows)]
