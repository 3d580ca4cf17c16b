"""The store's behaviour, held the same on both backends (SQLite and PostgreSQL), and what each
backend adds of its own."""

import base64
import sqlite3
from contextlib import closing

import pytest

from gateway import credentials
from gateway.store import Ambiguous, Conflict, NotFound, SQLiteStore
from gateway.store.migrations import migrations
from gateway.store.records import LimitRule
from gateway.store.sealing import SealingError

from ..stores import raw

LATEST = len(migrations("sqlite"))


# -- both backends ----------------------------------------------------------------------------------
def test_keys_are_stored_only_as_digests(store):
    store.ensure_app("acme", "web", ["*"])
    record, secret = store.create_key("web", name="laptop")
    rows = raw(store, "SELECT id, digest, prefix FROM consumer_keys")
    assert secret not in repr(rows)
    assert [(r[0], bytes(r[1]), r[2]) for r in rows] == [
        (record.id, credentials.digest(secret), secret[: credentials.VISIBLE_CHARS])
    ]
    assert record.prefix == secret[: credentials.VISIBLE_CHARS]
    assert [k.id for k in store.snapshot().keys] == [record.id]


def test_every_change_bumps_the_generation_and_revocation_empties_the_snapshot(store):
    before = store.generation()
    store.ensure_app("acme", "web", ["gpt-4o-mini"])
    record, _ = store.create_key("web")
    after_create = store.generation()
    assert after_create > before
    store.revoke_key(record.id)
    assert store.generation() > after_create
    assert store.snapshot().keys == []
    assert store.list_keys()[0].revoked_at is not None


def test_ensure_is_idempotent(store):
    store.ensure_app("acme", "web", ["*"])
    gen = store.generation()
    store.ensure_app("acme", "web", ["*"])
    assert store.generation() == gen
    store.ensure_app("acme", "web", ["m1"])
    assert store.list_apps("acme")[0].models == ["m1"]
    assert [t.name for t in store.list_tenants()] == ["acme"]


def test_app_names_are_resolved_per_tenant(store):
    store.ensure_app("a", "web", ["*"])
    store.ensure_app("b", "web", ["*"])
    with pytest.raises(Ambiguous):
        store.create_key("web")
    record, _ = store.create_key("web", tenant="b")
    assert record.tenant == "b"
    assert [k.id for k in store.list_keys(tenant="b", app="web")] == [record.id]
    assert store.list_keys(tenant="a") == []
    with pytest.raises(NotFound):
        store.create_key("nope")
    with pytest.raises(NotFound):
        store.revoke_key("key_missing")


def test_limits_keep_their_id_while_the_rate_stays_and_start_afresh_when_it_changes(store):
    store.ensure_app("acme", "web", ["*"])
    first = store.set_limits("app", "acme/web", [LimitRule(kind="requests", amount=10, period_s=60)])
    gen = store.generation()
    assert store.set_limits("app", "acme/web", [LimitRule(kind="requests", amount=10, period_s=60)]) == first
    assert store.generation() == gen  # nothing changed, nothing bumped
    burst = store.set_limits("app", "acme/web", [LimitRule(kind="requests", amount=10, period_s=60, burst=2)])
    assert (burst[0].id, burst[0].burst) == (first[0].id, 2)
    faster = store.set_limits("app", "acme/web", [LimitRule(kind="requests", amount=20, period_s=60)])
    assert faster[0].id > first[0].id and faster[0].burst == 20
    assert [r.id for r in store.snapshot().limits] == [faster[0].id]
    assert store.set_limits("app", "acme/web", []) == []
    with pytest.raises(NotFound):
        store.set_limits("app", "acme/nope", [])


def test_provider_keys_are_sealed_at_rest_and_rotate_in_place(store):
    generation = store.generation()
    store.add_upstream_key("openai", "extra", "sk-live-secret-1")
    assert store.generation() > generation  # workers rebuild their pools
    with pytest.raises(Conflict, match="already has a key 'extra'"):
        store.add_upstream_key("openai", "extra", "sk-other")
    store.rotate_upstream_key("openai", "extra", "sk-live-secret-2")
    assert [(s.provider, s.key_id, s.value) for s in store.snapshot().upstream_keys] == [
        ("openai", "extra", "sk-live-secret-2")
    ]
    [record] = store.list_upstream_keys()
    assert record.rotated_at is not None and "sk-live" not in repr(store.snapshot())
    assert b"sk-live-secret" not in b"".join(
        bytes(r[0]) for r in raw(store, "SELECT sealed FROM upstream_keys")
    )
    with pytest.raises(NotFound):
        store.rotate_upstream_key("openai", "missing", "sk-x")


def test_a_sealed_secret_does_not_open_under_another_keys_name(store):
    store.add_upstream_key("openai", "a", "sk-a")
    store.add_upstream_key("openai", "b", "sk-b")
    [(sealed_a,)] = raw(store, "SELECT sealed FROM upstream_keys WHERE key_id = 'a'")
    raw(store, "UPDATE upstream_keys SET sealed = ? WHERE key_id = 'b'", (bytes(sealed_a),))
    with pytest.raises(SealingError, match="'openai/b'"):
        store.upstream_secrets()
    store.remove_upstream_key("openai", "b")
    with pytest.raises(NotFound):
        store.remove_upstream_key("openai", "b")
    assert [s.value for s in store.upstream_secrets()] == ["sk-a"]


# -- SQLite ------------------------------------------------------------------------------------------
def test_new_store_is_migrated_to_the_latest_schema_in_wal_mode(sqlite_store):
    assert sqlite_store.schema_version() == LATEST
    with closing(sqlite3.connect(sqlite_store.path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_does_not_migrate_again(tmp_path):
    SQLiteStore(tmp_path / "a.db").close()
    again = SQLiteStore(tmp_path / "a.db")
    assert again.schema_version() == LATEST
    again.close()


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    SQLiteStore(path).close()
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(RuntimeError, match="newer than this aigw knows"):
        SQLiteStore(path)


def test_without_the_variable_the_data_key_is_a_file_of_the_owners_beside_the_store(tmp_path, monkeypatch):
    monkeypatch.delenv("AIGW_SECRET_KEY", raising=False)
    path = tmp_path / "aigw.db"
    store = SQLiteStore(path)
    store.add_upstream_key("openai", "extra", "sk-live-secret-1")
    store.close()
    # The secret is in none of the database's files; the data key file is the owner's alone.
    for name in ("aigw.db", "aigw.db-wal"):
        data = (tmp_path / name).read_bytes() if (tmp_path / name).exists() else b""
        assert b"sk-live-secret" not in data
    assert (tmp_path / "aigw.db.key").stat().st_mode & 0o777 == 0o600
    # Another data key cannot open them: a clear error, not garbage.
    monkeypatch.setenv("AIGW_SECRET_KEY", base64.b64encode(b"k" * 32).decode())
    with pytest.raises(SealingError, match="not the one it was stored with"):
        SQLiteStore(path).upstream_secrets()
    monkeypatch.setenv("AIGW_SECRET_KEY", "too-short")
    with pytest.raises(SealingError, match="32 bytes in base64"):
        SQLiteStore(path).upstream_secrets()
