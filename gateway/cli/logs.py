"""`aigw logs`: the call log from the store, newest first: a page at a time as a table, every
matching call as CSV or NDJSON (exports are never cut short), or followed."""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable
from typing import TextIO

import msgspec

from ..analytics import export
from ..calllog.backend import open_call_log
from ..calllog.record import CallRecord
from ..calllog.store import CallFilter, CallLog
from .context import Context
from .filters import add_filter_options, count, filter_from, ms, tokens, usd
from .output import Progress, export_output_option, fold_output, when

_json = msgspec.json.Encoder()
PAGE = 20
EXPORT_PAGE = 1000


def add_logs_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("logs", help="show the call log (works without a running gateway)")
    add_filter_options(p)
    p.add_argument("--request-id", help="the call with this x-request-id")
    p.add_argument(
        "--search",
        metavar="TEXT",
        help="calls whose request id, app, consumer key, model, provider key or error holds each word",
    )
    p.add_argument(
        "--limit",
        type=int,
        help=f"the table: calls per page (default {PAGE}); --csv/--json: at most this many",
    )
    p.add_argument("--cursor", help="the table: continue from a previous page (printed after it)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new calls as they arrive")
    p.add_argument("--interval", type=float, default=1.0, help="--follow: seconds between polls")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="every matching call, one JSON object per line")
    out.add_argument("--csv", action="store_true", help="every matching call, CSV with a header row")
    export_output_option(out)
    p.set_defaults(run=run_logs, covers=("GET /admin/calls", "GET /admin/calls/export"))


def run_logs(args: argparse.Namespace, ctx: Context) -> int:
    fold_output(args)
    export_all = (args.csv or args.json) and not args.follow
    try:
        where = filter_from(args)
        if args.limit is not None and args.limit < 1:
            raise ValueError("--limit must be at least 1")
        if export_all and args.cursor:
            raise ValueError("--cursor pages the table; --csv and --json print every matching call")
    except ValueError as exc:
        print(f"aigw: {exc}", file=sys.stderr)
        return 2
    store = ctx.open_store(writes=False)
    log = open_call_log(store)
    try:
        printer = Printer(args, sys.stdout)
        if args.follow:
            follow(log, where, args.limit or PAGE, args.interval, printer)
        elif export_all:
            # A page at a time, so memory stays one page deep however many calls match.
            pages = export.iter_calls(log, where, limit=args.limit)
            progress = Progress("calls")
            while batch := list(itertools.islice(pages, EXPORT_PAGE)):
                printer(batch)
                progress.add(len(batch))
            printer([])  # the CSV header, when nothing matched
            progress.end()
        else:
            return _page(log, where, args, printer)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        log.close()
        store.close()


def _page(log: CallLog, where: CallFilter, args: argparse.Namespace, printer: Printer) -> int:
    try:
        page = log.calls(where, cursor=args.cursor, limit=args.limit or PAGE)
    except ValueError as exc:
        print(f"aigw: {exc}", file=sys.stderr)
        return 2
    printer(page.calls)
    if page.next_cursor:
        print(f"more: aigw logs --cursor {page.next_cursor} (same filters)", file=sys.stderr)
    return 0


def follow(
    log: CallLog,
    where: CallFilter,
    last: int,
    interval_s: float,
    printer: Callable[[list[CallRecord]], None],
    *,
    sleep: Callable[[float], None] = time.sleep,
    polls: int | None = None,
) -> None:
    """Print the last `last` calls oldest first, then every new one as it is stored.

    New calls are found by row id (the order of storing), so a call written late by a slow
    worker is still printed, once. `polls` bounds the loop (tests); None runs until Ctrl-C.
    """
    recent = log.calls(where, limit=last).calls
    printer(recent[::-1])
    after = max((r.id for r in recent), default=0) or log.last_id()
    done = 0
    while polls is None or done < polls:
        sleep(interval_s)
        done += 1
        while True:
            batch = log.tail(where, after, limit=500)
            if not batch:
                break
            printer(batch)
            after = batch[-1].id


class Printer:
    """Writes pages of calls as text lines, NDJSON or CSV (header once)."""

    def __init__(self, args: argparse.Namespace, out: TextIO):
        self._mode = "json" if args.json else "csv" if args.csv else "text"
        self._out = out
        self._header = True

    def __call__(self, records: list[CallRecord]) -> None:
        if self._mode == "json":
            for rec in records:
                self._out.write(_json.encode(rec).decode() + "\n")
        elif self._mode == "csv":
            if records or self._header:
                for chunk in export.calls_csv(records, header=self._header):
                    self._out.write(chunk)
                self._header = False
        else:
            for rec in records:
                self._out.write(line(rec) + "\n")
                # Captured bodies (model groups with capture on), already redacted and capped.
                for label, body in (("request", rec.request_body), ("response", rec.response_body)):
                    if body:
                        self._out.write(f"    {label}: {body}\n")
        self._out.flush()


def line(rec: CallRecord) -> str:
    """One call on one line: when, status, who, what model where, how long, tokens, cost."""
    who = f"{rec.tenant}/{rec.app}" if rec.tenant else "-"
    served = ""
    if rec.provider:
        served = f" → {rec.deployment or rec.provider}"
        if rec.upstream_key:
            served += f" [{rec.upstream_key}]"
    parts = [
        when(rec.ts),
        str(rec.status),
        rec.request_id,
        who,
        (rec.model or "-") + served,
        ms(rec.latency_ms),
    ]
    if rec.streamed and rec.ttfb_ms is not None:
        parts.append(f"ttfb {ms(rec.ttfb_ms)}")
    if rec.prompt_tokens or rec.completion_tokens:
        cached = f" ({count(rec.cached_tokens)} cached)" if rec.cached_tokens else ""
        parts.append(f"tokens {tokens(rec.prompt_tokens)}/{tokens(rec.completion_tokens)}{cached}")
    if rec.cost:
        parts.append(usd(rec.cost))
    if len(rec.attempts) > 1:
        parts.append(f"{len(rec.attempts)} attempts")
    if rec.error_code:
        parts.append(rec.error_code + (f" ({rec.limit_scope})" if rec.limit_scope else ""))
    return "  ".join(parts)
