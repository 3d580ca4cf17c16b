"""`aigw logs` and `aigw stats` read the store directly: no gateway runs in these tests."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
import time

import pytest

from gateway.calllog.backend import open_call_log
from gateway.calllog.store import CallFilter
from gateway.cli.filters import sparkline
from gateway.cli.logs import Printer, follow
from gateway.cli.main import main
from gateway.store import SQLiteStore
from tests.calllog.helpers import record


@pytest.fixture
def setup(tmp_path):
    config = tmp_path / "aigw.yaml"
    config.write_text(
        f"""
store:
  path: {tmp_path / "aigw.db"}
providers:
  - name: openai
    type: openai
    base_url: https://api.openai.com/v1
    keys: [{{id: ok-1, value: sk-test}}]
model_groups:
  - name: gpt-4o-mini
    deployments: [{{provider: openai}}]
"""
    )
    store = SQLiteStore(tmp_path / "aigw.db")
    log = open_call_log(store)
    now = time.time()
    recs = [
        record(request_id=f"req_{i}", ts=now - 3600 + i * 60, status=429 if i % 4 == 0 else 200)
        for i in range(30)
    ]
    recs.append(record(request_id="req_other", ts=now - 60, tenant="globex", model="gpt-4o", cost=1.5))
    log.insert(recs)
    yield str(config), log, recs
    log.close()
    store.close()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_logs_prints_newest_first_and_tells_how_to_get_the_next_page(setup, capsys):
    config, _, _ = setup
    code, out, err = run(capsys, "logs", "--config", config, "--tenant", "acme", "--limit", "5")
    assert code == 0
    lines = out.splitlines()
    assert [ln.split()[2] for ln in lines] == ["req_29", "req_28", "req_27", "req_26", "req_25"]
    assert "acme/web" in lines[0] and "gpt-4o-mini → openai/gpt-4o-mini [ok-1]" in lines[0]
    cursor = err.split("--cursor ")[1].split()[0]
    code, out, err = run(
        capsys, "logs", "--config", config, "--tenant", "acme", "--limit", "5", "--cursor", cursor
    )
    assert [ln.split()[2] for ln in out.splitlines()] == ["req_24", "req_23", "req_22", "req_21", "req_20"]


def test_logs_filters_and_exports_json_lines_and_csv(setup, capsys):
    config, _, _ = setup
    code, out, _ = run(capsys, "logs", "--config", config, "--status", "429", "--json", "--limit", "100")
    assert code == 0
    rows = [json.loads(ln) for ln in out.splitlines()]
    assert len(rows) == 8 and {r["status"] for r in rows} == {429}
    assert rows[0]["attempts"][0]["key_id"] == "ok-1"
    _, out, _ = run(capsys, "logs", "--config", config, "--model", "gpt-4o", "--csv")
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["request_id"] == "req_other" and row["tenant"] == "globex" and float(row["cost"]) == 1.5


def test_logs_searches_for_words_in_any_field(setup, capsys):
    config, _, _ = setup
    code, out, _ = run(capsys, "logs", "--config", config, "--search", "GLOBEX 4o", "--json")
    assert code == 0
    assert [json.loads(ln)["request_id"] for ln in out.splitlines()] == ["req_other"]
    code, out, _ = run(capsys, "logs", "--config", config, "--search", "req_2", "--status", "429")
    assert code == 0 and [ln.split()[2] for ln in out.splitlines()] == ["req_28", "req_24", "req_20"]
    code, _, err = run(capsys, "logs", "--config", config, "--search", "a b c d e f g h i")
    assert code == 2 and "at most 8 words" in err


def test_logs_refuses_bad_options_with_a_message(setup, capsys):
    config, _, _ = setup
    code, _, err = run(capsys, "logs", "--config", config, "--since", "yesterday-ish")
    assert code == 2 and "invalid time" in err
    code, _, err = run(capsys, "logs", "--config", config, "--cursor", "nonsense")
    assert code == 2 and "invalid cursor" in err


def test_stats_shows_totals_trends_and_the_top_table(setup, capsys):
    config, _, _ = setup
    code, out, _ = run(capsys, "stats", "--config", config, "--since", "2h", "--grain", "minute")
    assert code == 0
    assert "calls" in out and "31" in out
    assert "errors" in out and "8" in out and "25.8%" in out
    table = out.split("\n\n")[-1].splitlines()
    assert table[0].split()[:3] == ["model", "calls", "err%"]
    assert table[1].split()[:2] == ["gpt-4o-mini", "30"]
    assert table[2].split()[:2] == ["gpt-4o", "1"]


def test_an_export_to_a_file_shows_its_progress_on_the_terminal(setup):
    config, _, recs = setup
    terminal, stderr = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "logs", "--config", config, "--csv"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    os.close(stderr)
    out, _ = proc.communicate(timeout=120)
    shown = b""
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # EIO: the child's side is closed and everything was read
            break
        if not chunk:
            break
        shown += chunk
    os.close(terminal)
    assert proc.returncode == 0
    assert f"\r{len(recs)} calls".encode() in shown
    # The file gets the CSV alone.
    assert len(list(csv.DictReader(io.StringIO(out.decode())))) == len(recs)


def test_stats_json_and_csv(setup, capsys):
    config, _, _ = setup
    code, out, _ = run(capsys, "stats", "--config", config, "--since", "2h", "--by", "tenant", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["totals"]["calls"] == 31
    assert [r["group"]["tenant"] for r in doc["top"]["rows"]] == ["acme", "globex"]
    _, out, _ = run(
        capsys, "stats", "--config", config, "--since", "2h", "--by", "tenant", "--sort", "cost", "--csv"
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["tenant"] == "globex" and float(rows[0]["cost"]) == 1.5


def test_follow_prints_the_last_calls_then_new_ones_as_they_are_stored(setup):
    _, log, _ = setup
    out = io.StringIO()

    class Args:
        json = csv = False

    arrivals = [[record(request_id="new_1")], [], [record(request_id="new_2"), record(request_id="new_3")]]

    def sleep(_: float) -> None:
        # Each "sleep" is the moment other workers store something.
        log.insert(arrivals.pop(0))

    follow(log, CallFilter(), 3, 1.0, Printer(Args(), out), sleep=sleep, polls=3)
    ids = [ln.split()[2] for ln in out.getvalue().splitlines()]
    # The three newest, oldest first, then each new call once, in the order it was stored.
    assert ids == ["req_28", "req_29", "req_other", "new_1", "new_2", "new_3"]


def test_sparkline_scales_to_the_largest_value_and_fits_the_width():
    assert sparkline([0, 1, 2, 4, 8]) == " ▁▂▄█"
    assert len(sparkline(list(range(100)), width=20)) == 20
    assert sparkline([0, 0]) == "  "
