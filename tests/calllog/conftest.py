from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.calllog.backend import open_call_log
from gateway.calllog.store import CallLog
from gateway.store import SQLiteStore, Store


@pytest.fixture
def store(any_store: Store) -> Store:
    """A new store of each backend: the call log behaves the same in both."""
    return any_store


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "aigw.db")
    yield s
    s.close()


@pytest.fixture
def call_log(store: Store) -> Iterator[CallLog]:
    log = open_call_log(store)
    yield log
    log.close()
