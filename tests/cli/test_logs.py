"""`aigw logs` as a pipeline stage: exports hold every matching call, a closed pipe ends it
quietly, and the times it prints are the times `--since` reads."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.calllog.backend import open_call_log
from gateway.store import SQLiteStore
from tests.calllog.helpers import record

from .conftest import CONFIG, aigw

CALLS = 2500  # more than a table page (20) and more than an export batch (1000)


@pytest.fixture
def logged(tmp_path: Path) -> tuple[str, float]:
    """A config whose store holds CALLS calls, one a second up to a minute ago; its path and
    the newest call's time."""
    (tmp_path / "aigw.yaml").write_text(CONFIG)
    store = SQLiteStore(tmp_path / "var" / "aigw.db")
    log = open_call_log(store)
    newest = float(int(time.time()) - 60)
    log.insert([record(request_id=f"req_{i}", ts=newest - i) for i in range(CALLS)])
    log.close()
    store.close()
    return str(tmp_path / "aigw.yaml"), newest


def test_csv_and_json_exports_hold_every_matching_call(logged):
    config, _ = logged
    out = aigw("logs", "--csv", "--since", "7d", "--config", config)
    assert out.returncode == 0 and out.stderr == ""
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["request_id"] for r in rows] == [f"req_{i}" for i in range(CALLS)]
    out = aigw("logs", "--json", "--config", config)
    assert out.returncode == 0 and out.stderr == ""
    assert len({json.loads(line)["request_id"] for line in out.stdout.splitlines()}) == CALLS
    # --limit caps an export when asked to.
    out = aigw("logs", "--json", "--limit", "1001", "--config", config)
    assert len(out.stdout.splitlines()) == 1001


def test_the_table_is_paged(logged):
    config, _ = logged
    out = aigw("logs", "--config", config)
    assert len(out.stdout.splitlines()) == 20
    assert out.stderr.startswith("more: aigw logs --cursor ")


def test_a_closed_pipe_ends_the_command_quietly(logged):
    config, _ = logged
    with subprocess.Popen(
        [sys.executable, "-m", "gateway", "logs", "--csv", "--config", config],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith(b"id,request_id,")
        proc.stdout.close()  # what `| head -1` does once it has its line
        assert proc.wait(timeout=60) == 141
        assert proc.stderr.read() == b""


def test_the_times_printed_are_utc_iso_8601_and_since_reads_them(logged):
    config, newest = logged
    first = aigw("logs", "--limit", "3", "--config", config).stdout.splitlines()
    printed = [line.split()[0] for line in first]
    assert printed[0] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(newest))
    # Copy the third call's time into --since: the three calls from then on, no more.
    again = aigw("logs", "--since", printed[2], "--config", config)
    assert [line.split()[2] for line in again.stdout.splitlines()] == ["req_0", "req_1", "req_2"]
