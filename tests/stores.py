"""Stores of either backend for the tests that hold both to the same behaviour."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from gateway.store import SQLiteStore, Store
from gateway.store.postgres import PostgresStore

BACKENDS = ("sqlite", "postgresql")
# The data key PostgreSQL stores seal provider keys under in the tests (they have no key file).
TEST_DATA_KEY = base64.b64encode(b"t" * 32).decode()


def new_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    if backend == "sqlite":
        return SQLiteStore(tmp_path / "aigw.db")
    request.getfixturevalue("monkeypatch").setenv("AIGW_SECRET_KEY", TEST_DATA_KEY)
    return PostgresStore(request.getfixturevalue("postgres_url"))


def raw(store: Store, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run `sql` on the store's database directly: what a test finds at rest, or a change behind
    the store's back."""
    if isinstance(store, SQLiteStore):
        with closing(sqlite3.connect(store.path)) as db:
            rows = db.execute(sql, args).fetchall()
            db.commit()
            return rows
    assert isinstance(store, PostgresStore)
    return [tuple(r) for r in store.database.all(sql, args)]
