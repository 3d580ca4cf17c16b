"""Fixtures every test folder may use: a private PostgreSQL server and a private redis-server
(bench/services.py, which the cluster bench uses too), and a new store of each backend
(tests/stores.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.services import PostgresServer, RedisServer
from gateway.calllog.backend import open_call_log
from gateway.calllog.store import CallLog
from gateway.store import SQLiteStore, Store

from .stores import BACKENDS, new_store


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of the test's own: it may stop and start it."""
    server = RedisServer().start()
    yield server
    server.close()


@pytest.fixture(params=BACKENDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A new store, once of each backend."""
    store = new_store(request.param, tmp_path, request)
    yield store
    store.close()


@pytest.fixture
def store(any_store: Store) -> Store:
    """A new store of each backend: what is tested behaves the same in both."""
    return any_store


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "aigw.db")
    yield s
    s.close()


@pytest.fixture
def call_log(store: Store) -> Iterator[CallLog]:
    log = open_call_log(store)
    yield log
    log.close()
