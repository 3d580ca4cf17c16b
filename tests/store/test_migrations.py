"""Stores made by earlier aigw versions open with this one: migrated forward, their data intact,
their schema the same as a new store's.

`legacy/NNNN.sql` is a dump of a store at schema version NNNN, filled with a row or two in every
table it had: 0001-0008 made by aigw 0.1.0's migrations (before they became numbered files),
each later one from the one before by its own migration.
"""

from __future__ import annotations

import base64
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from gateway import credentials
from gateway.calllog.backend import open_call_log
from gateway.calllog.store import CallFilter
from gateway.store import SQLiteStore
from gateway.store.migrations import migrations, statements
from gateway.store.records import LimitRule

LEGACY = Path(__file__).parent / "legacy"
DUMPS = sorted(LEGACY.glob("*.sql"))
LATEST = len(migrations("sqlite"))
# What the dumps hold: a consumer key's secret, and the data key their provider key was sealed with.
LEGACY_SECRET = "aigw-legacy0000000000000000000000000000000"
LEGACY_DATA_KEY = base64.b64encode(b"l" * 32).decode()


def schema(path: Path) -> dict[str, str]:
    """Every table's and index's definition, whitespace folded."""
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    return {name: re.sub(r"\s+", " ", sql) for name, sql in rows}


def test_migrations_are_numbered_from_one_without_gaps_and_every_dump_is_older():
    assert [m.version for m in migrations("sqlite")] == list(range(1, LATEST + 1))
    assert [int(d.stem) for d in DUMPS] == list(range(1, LATEST + 1))


def test_statements_split_on_whole_statements_only():
    script = "-- a comment; with a semicolon\nCREATE TABLE t (a TEXT DEFAULT ';');\nDROP TABLE t;\n"
    assert statements(script) == [
        "-- a comment; with a semicolon\nCREATE TABLE t (a TEXT DEFAULT ';');",
        "DROP TABLE t;",
    ]
    with pytest.raises(ValueError, match="unterminated"):
        statements("CREATE TABLE t (a TEXT)")


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: f"v{int(p.stem)}")
def test_a_store_of_every_earlier_version_is_migrated_with_its_data(tmp_path, monkeypatch, dump):
    version = int(dump.stem)
    path = tmp_path / "aigw.db"
    with closing(sqlite3.connect(path)) as db:
        db.executescript(dump.read_text())
        assert db.execute("PRAGMA user_version").fetchone()[0] == version
    monkeypatch.setenv("AIGW_SECRET_KEY", LEGACY_DATA_KEY)

    store = SQLiteStore(path)
    assert store.schema_version() == LATEST
    snapshot = store.snapshot()
    assert snapshot.generation == 7
    assert [(k.id, k.digest, k.tenant, k.app) for k in snapshot.keys] == [
        ("key_legacy", credentials.digest(LEGACY_SECRET), "acme", "web")
    ]
    if version >= 2:
        [limit] = snapshot.limits
        assert (limit.scope, limit.subject, limit.amount, limit.period_s) == ("app", "acme/web", 10, 60)
        # The id is never reused: a new rate gets a new one.
        [faster] = store.set_limits("app", "acme/web", [LimitRule(kind="requests", amount=20, period_s=60)])
        assert faster.id > limit.id
    if version >= 3:
        log = open_call_log(store)
        [call] = log.calls(CallFilter(tenant="acme")).calls
        assert (call.request_id, call.total_tokens, call.request_body) == ("req_1_1", 7, "")
        [day] = log.aggregate(86400, CallFilter(since=0))
        assert (day.calls, day.prompt_tokens, day.completion_tokens) == (1, 3, 4)
        log.close()
    if version >= 4:
        assert [(b.scope, b.kind, b.amount) for b in snapshot.budgets] == [("tenant", "tokens", 1_000_000)]
    if version >= 6:
        assert [m.user for m in store.list_members("acme")] == ["ann"]
        assert store.admin_token_by_secret("aigw-admin-legacy") is not None
        assert [v.state for v in store.service("summarize").versions] == ["published"]
        assert [(g.tenant, g.app, g.state) for g in snapshot.grants] == [("acme", "web", "approved")]
    if version >= 7:
        assert [(s.provider, s.key_id, s.value) for s in snapshot.upstream_keys] == [
            ("openai", "legacy", "sk-legacy-secret")
        ]
    # New keys work in a migrated store, and every write still bumps the generation.
    record, _ = store.create_key("web", name="after-upgrade")
    assert store.generation() > 7 and record.tenant == "acme"
    store.close()

    fresh = tmp_path / "fresh.db"
    SQLiteStore(fresh).close()
    assert schema(path) == schema(fresh)
