"""What a budget's subject used in a period, read back from the call log's day rollups — how the
node's budget counters survive a restart (the supervisor seeds them at start).

Rollups keep tokens and cost exactly. They do not keep which calls admission charged, so a
`requests` budget counts the calls that reached a model and were not answered with a 4xx (the
refusals and bad requests admission never charged, and the rare upstream 4xx it did)."""

from __future__ import annotations

from typing import Any

from ..admission import budgets
from ..store.base import Store
from ..store.records import BudgetRecord
from .backend import open_call_log
from .rollup import DAY
from .store import CallFilter, CallLog


def subject_filter(record: BudgetRecord, since: float) -> CallFilter:
    if record.scope == "tenant":
        return CallFilter(since=since, tenant=record.subject)
    if record.scope == "app":
        tenant, _, app = record.subject.partition("/")
        return CallFilter(since=since, tenant=tenant, app=app)
    return CallFilter(since=since, key_id=record.subject)


def used_in_period(log: CallLog, record: BudgetRecord, index: int) -> int:
    """Requests, tokens or micro-USD the subject of `record` used in period `index` (and after)."""
    since = budgets.period_start(record.period, index)
    rows = log.aggregate(DAY, subject_filter(record, since), group_by=("model", "status"))
    if record.kind == "requests":
        return sum(r.calls for r in rows if r.group[0] and not 400 <= int(r.group[1]) < 500)
    if record.kind == "tokens":
        return sum(r.prompt_tokens + r.completion_tokens for r in rows)
    return round(sum(r.cost for r in rows) * 1_000_000)


def seed_counters(store: Store, region: Any, wall_s: int) -> int:
    """Set every budget's counter in a fresh region to what the call log says its subject used in
    the current period. Run before any worker starts; returns how many counters were seeded."""
    records = store.list_budgets()
    if not records:
        return 0
    log = open_call_log(store)
    seeded = 0
    try:
        for record in records:
            index = budgets.period_index(record.period, wall_s)
            used = used_in_period(log, record, index)
            if used:
                region.seed_budget(record.id, index, used)
                seeded += 1
    finally:
        log.close()
    return seeded
