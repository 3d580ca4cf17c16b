import base64
import sqlite3

import pytest

from gateway import credentials
from gateway.store import Ambiguous, Conflict, NotFound, SQLiteStore
from gateway.store.migrations import migrations
from gateway.store.sealing import SealingError

LATEST = len(migrations("sqlite"))


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "aigw.db")
    yield s
    s.close()


def test_new_store_is_migrated_to_the_latest_schema_in_wal_mode(store):
    assert store.schema_version() == LATEST
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_reopening_does_not_migrate_again(tmp_path):
    SQLiteStore(tmp_path / "a.db").close()
    again = SQLiteStore(tmp_path / "a.db")
    assert again.schema_version() == LATEST


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {LATEST + 1}")
    db.close()
    with pytest.raises(RuntimeError, match="newer than this aigw knows"):
        SQLiteStore(path)


def test_keys_are_stored_only_as_digests(store):
    store.ensure_app("acme", "web", ["*"])
    record, secret = store.create_key("web", name="laptop")
    raw = sqlite3.connect(store.path).execute("SELECT * FROM consumer_keys").fetchall()
    assert secret not in repr(raw)
    assert raw[0][2] == credentials.digest(secret)
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


def test_app_names_are_resolved_per_tenant(store):
    store.ensure_app("a", "web", ["*"])
    store.ensure_app("b", "web", ["*"])
    with pytest.raises(Ambiguous):
        store.create_key("web")
    record, _ = store.create_key("web", tenant="b")
    assert record.tenant == "b"
    with pytest.raises(NotFound):
        store.create_key("nope")
    with pytest.raises(NotFound):
        store.revoke_key("key_missing")


def test_limits_keep_their_id_while_the_rate_stays_and_start_afresh_when_it_changes(store):
    from gateway.store.records import LimitRule

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


def test_provider_keys_are_sealed_at_rest_and_opened_only_with_the_data_key(tmp_path, monkeypatch):
    monkeypatch.delenv("AIGW_SECRET_KEY", raising=False)
    path = tmp_path / "aigw.db"
    store = SQLiteStore(path)
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
    store.close()
    # Neither secret is anywhere in the database files; the data key file is the owner's alone.
    for name in ("aigw.db", "aigw.db-wal"):
        raw = (tmp_path / name).read_bytes() if (tmp_path / name).exists() else b""
        assert b"sk-live-secret" not in raw
    assert (tmp_path / "aigw.db.key").stat().st_mode & 0o777 == 0o600
    # Another data key cannot open them: a clear error, not garbage.
    monkeypatch.setenv("AIGW_SECRET_KEY", base64.b64encode(b"k" * 32).decode())
    with pytest.raises(SealingError, match="not the one it was stored with"):
        SQLiteStore(path).upstream_secrets()
    monkeypatch.setenv("AIGW_SECRET_KEY", "too-short")
    with pytest.raises(SealingError, match="32 bytes in base64"):
        SQLiteStore(path).upstream_secrets()


def test_a_sealed_secret_does_not_open_under_another_keys_name(tmp_path, monkeypatch):
    monkeypatch.setenv("AIGW_SECRET_KEY", base64.b64encode(b"s" * 32).decode())
    store = SQLiteStore(tmp_path / "aigw.db")
    store.add_upstream_key("openai", "a", "sk-a")
    store.add_upstream_key("openai", "b", "sk-b")
    db = sqlite3.connect(tmp_path / "aigw.db")
    copy_a_onto_b = (
        "UPDATE upstream_keys SET sealed = (SELECT sealed FROM upstream_keys WHERE key_id = 'a') "
        "WHERE key_id = 'b'"
    )
    db.execute(copy_a_onto_b)
    db.commit()
    with pytest.raises(SealingError, match="'openai/b'"):
        store.upstream_secrets()
    store.remove_upstream_key("openai", "b")
    with pytest.raises(NotFound):
        store.remove_upstream_key("openai", "b")
    assert [s.value for s in store.upstream_secrets()] == ["sk-a"]
