from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.calllog.backend import open_call_log
from gateway.calllog.store import CallLog
from gateway.store import SQLiteStore


@pytest.fixture
def store(tmp_path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "aigw.db")
    yield s
    s.close()


@pytest.fixture
def call_log(store: SQLiteStore) -> Iterator[CallLog]:
    log = open_call_log(store)
    yield log
    log.close()
