from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.calllog.store import CallLog
from gateway.store import SQLiteStore


@pytest.fixture
def store(tmp_path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "aigw.db")
    yield s
    s.close()


@pytest.fixture
def call_log(store: SQLiteStore) -> Iterator[CallLog]:
    log = store.open_call_log()
    yield log
    log.close()
