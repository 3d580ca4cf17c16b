"""What the PostgreSQL store adds: one schema for nodes that start together, changes that reach
every node's processes through LISTEN/NOTIFY, and a data key every node shares."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from bench.procs import free_port
from gateway.config import parse_config
from gateway.config.seed import seed
from gateway.store import postgres
from gateway.store.migrations import migrations
from gateway.store.postgres import PostgresStore, StoreUnavailable, numbered, redacted
from gateway.store.sealing import SealingError

from ..stores import TEST_DATA_KEY, raw

LATEST = len(migrations("postgresql"))
DEADLINE_S = 30.0


def until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while not (result := check()):
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)
    return result


def in_threads(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0) … work(n-1) at once; re-raise the first failure."""
    results: list[Any] = [None] * n
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def open_stores(postgres_url, monkeypatch):
    monkeypatch.setenv("AIGW_SECRET_KEY", TEST_DATA_KEY)
    opened: list[PostgresStore] = []

    def make() -> PostgresStore:
        store = PostgresStore(postgres_url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def test_nodes_that_start_together_migrate_the_database_once(open_stores):
    stores = in_threads(4, lambda _: open_stores())
    assert all(s.schema_version() == LATEST for s in stores)
    applied = raw(stores[0], "SELECT version FROM schema_migrations ORDER BY version")
    assert applied == [(v,) for v in range(1, LATEST + 1)]


def test_a_newer_schema_is_refused(open_stores, postgres_url):
    store = open_stores()
    raw(store, "INSERT INTO schema_migrations (version, name) VALUES (?, 'from_the_future')", (LATEST + 1,))
    with pytest.raises(RuntimeError, match="newer than this aigw knows"):
        PostgresStore(postgres_url)


def test_a_change_made_through_one_node_reaches_another_through_a_notification(open_stores, monkeypatch):
    # The periodic re-read is pushed out of the way: only the notification can bring the change.
    monkeypatch.setattr(postgres, "RECHECK_S", 3600.0)
    writer, follower = open_stores(), open_stores()
    seen = follower.snapshot().generation  # a worker's first load; it follows from here
    writer.ensure_app("acme", "web", ["*"])
    changed = writer.generation()
    assert changed > seen
    until(lambda: follower.generation() == changed, "the follower heard of the change")
    record, _ = writer.create_key("web")
    until(lambda: follower.generation() == writer.generation(), "the follower heard of the new key")
    assert record.id in {k.id for k in follower.snapshot().keys}


def test_a_follower_whose_connection_drops_reconnects_and_catches_up(open_stores, monkeypatch):
    monkeypatch.setattr(postgres, "RECHECK_S", 3600.0)
    writer, follower = open_stores(), open_stores()
    follower.snapshot()
    listening = (
        f"SELECT pid FROM pg_stat_activity WHERE application_name = '{postgres.FOLLOWER}' "
        "AND datname = current_database()"
    )
    until(lambda: raw(writer, listening), "the follower listens")
    raw(writer, f"SELECT pg_terminate_backend(pid) FROM ({listening}) AS l")
    writer.ensure_tenant("made-while-it-was-away")
    until(lambda: follower.generation() == writer.generation(), "the follower caught up after reconnecting")


def test_nodes_seeding_the_same_config_at_once_do_not_collide(open_stores):
    cfg = parse_config(
        """
providers: [{name: mock, type: mock, keys: [{id: k, value: v}]}]
model_groups:
  - {name: chat, deployments: [{provider: mock}], limits: [{requests: 5, per: second}]}
tenants:
  - name: acme
    limits: [{requests: 100, per: minute}]
    budgets: [{tokens: 1000000, per: month}]
    apps: [{name: web, limits: [{tokens: 1000, per: minute}]}, {name: batch}]
"""
    )
    stores = in_threads(4, lambda _: open_stores())
    in_threads(4, lambda i: seed(stores[i], cfg))
    store = stores[0]
    assert [(a.tenant, a.name) for a in store.list_apps()] == [("acme", "batch"), ("acme", "web")]
    assert sorted((r.scope, r.subject, r.kind) for r in store.list_limits()) == [
        ("app", "acme/web", "tokens"),
        ("model", "chat", "requests"),
        ("tenant", "acme", "requests"),
    ]
    assert [(b.scope, b.kind, b.amount) for b in store.list_budgets()] == [("tenant", "tokens", 1_000_000)]


def test_provider_keys_need_the_data_key_every_node_shares(open_stores, monkeypatch):
    store = open_stores()
    monkeypatch.delenv("AIGW_SECRET_KEY")
    with pytest.raises(SealingError, match="AIGW_SECRET_KEY"):
        store.add_upstream_key("openai", "extra", "sk-live-secret")


def test_an_unreachable_server_is_named_without_its_password():
    port = free_port()  # nothing listens there
    url = f"postgresql://aigw:hunter2-secret@127.0.0.1:{port}/none"
    with pytest.raises(StoreUnavailable) as caught:
        PostgresStore(url)
    assert "hunter2" not in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert redacted(url) == f"postgresql://aigw:***@127.0.0.1:{port}/none"


def test_placeholders_are_numbered_in_order():
    assert numbered("SELECT ? WHERE a = ? AND b IN (?, ?)") == "SELECT $1 WHERE a = $2 AND b IN ($3, $4)"
