"""Helpers shared by scenarios: checking a target answers before loading it, repeating runs
interleaved across targets, and turning summaries into report tables."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from ..console import log
from ..measure import Target
from ..report import Table, fmt_ms, fmt_number, fmt_rps
from ..results import LATENCY_KEYS, Measurement, Summary, summarize


def check_answers(target: Target, body: bytes, expect: Callable[[bytes], bool]) -> None:
    """One request before any load: a target that answers wrongly fails the run at once."""
    request = urllib.request.Request(target.url, data=body, method=target.method, headers=target.headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            status, data = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, data = exc.code, exc.read()
    except OSError as exc:
        raise RuntimeError(f"{target.name} ({target.url}) is unreachable: {exc}") from exc
    if status != 200 or not expect(data):
        raise RuntimeError(f"{target.name} answered {status}: {data[:300]!r}")


def is_chat_completion(data: bytes) -> bool:
    try:
        doc = json.loads(data)
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("object") == "chat.completion" and bool(doc.get("choices"))


def interleaved(
    targets: Sequence[Target], repeat: int, run: Callable[[Target], Measurement]
) -> dict[str, list[Measurement]]:
    """Run every target once per repeat, in turn, so slow drifts of a noisy machine hit all alike."""
    runs: dict[str, list[Measurement]] = {t.name: [] for t in targets}
    for i in range(repeat):
        for target in targets:
            m = run(target)
            runs[target.name].append(m)
            note = f"  FLAGGED: {'; '.join(m.flags)}" if m.flagged else ""
            log(
                f"[{i + 1}/{repeat}] {m.mode:6} {target.name:7} {m.rps:>10,.0f} req/s  "
                f"p99 {m.latency_ms.get('p99', float('nan')):.3f} ms{note}"
            )
    return runs


def load_settings(args: Any, **extra: Any) -> dict[str, Any]:
    """The report's settings of a closed/constant-rate load run: the common options, and more."""
    return {
        "duration_s": args.duration,
        "connections": args.connections,
        "repeat": args.repeat,
        "warmup_s": args.warmup,
        **extra,
    }


def summaries(runs: dict[str, list[Measurement]]) -> dict[str, Summary]:
    return {name: summarize(measurements) for name, measurements in runs.items()}


COLUMNS = [
    "target",
    "req/s",
    *(f"{k} ms" for k in LATENCY_KEYS),
    "added p50 ms",
    "added p99 ms",
    "non-2xx",
    "socket errors",
    "CPU s / 1k req",
    "peak RSS MB",
]


def summary_table(title: str, rows: Sequence[Summary]) -> Table:
    body = []
    for s in rows:
        added = s.added_ms or {}
        body.append(
            [
                s.target,
                fmt_rps(s.rps, s.flagged),
                *(fmt_ms(s.latency_ms.get(k)) for k in LATENCY_KEYS),
                fmt_ms(added.get("p50")),
                fmt_ms(added.get("p99")),
                fmt_number(s.non2xx),
                fmt_number(s.socket_errors),
                fmt_number(s.cpu_s_per_1k, 3),
                fmt_number(s.peak_rss_mb, 1),
            ]
        )
    return Table(title, COLUMNS, body)
