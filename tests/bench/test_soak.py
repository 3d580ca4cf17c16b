"""The soak scenario: its verdict on what grows after warm-up, the figures it reads from the
kernel and from aigw, and a short run end to end (report shape, provoked failures answered as
they must be, no unexpected error)."""

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bench.growth import FLAT, Sample, verdict
from bench.hostile import KINDS
from bench.scenarios.soak import MIX, parse_metrics
from bench.sockets import parse_tcp_table

ROOT = Path(__file__).resolve().parents[2]
STEADY = Sample(
    t_s=0, rss_mb=100.0, fds=200, callers=64, upstreams=20, calllog_buffered=50, errors=0, provoked=0
)


def run_of(n: int, **grow: float) -> list[Sample]:
    """n samples a second apart; each field in `grow` rises by that much per sample."""
    return [
        replace(
            STEADY,
            t_s=float(i),
            **{k: type(getattr(STEADY, k))(getattr(STEADY, k) + v * i) for k, v in grow.items()},
        )
        for i in range(n)
    ]


def failed(checks):
    return {c.name for c in checks if not c.passed}


def test_a_flat_run_passes_every_check():
    checks = verdict(run_of(100), warmup_s=10, max_rss_growth=0.05, errors=0)
    assert failed(checks) == set()
    assert {c.name for c in checks} == {"rss", *FLAT, "errors"}


def test_rss_growing_past_the_bound_after_warm_up_fails():
    # 0.1 MB a sample: about +8% between the first and last tenth after warm-up.
    assert failed(verdict(run_of(100, rss_mb=0.1), 10, 0.05, 0)) == {"rss"}
    assert failed(verdict(run_of(100, rss_mb=0.1), 10, 0.10, 0)) == set()


def test_growth_during_warm_up_only_is_not_judged():
    samples = [
        replace(s, rss_mb=50 + s.t_s * 5, fds=100 + int(s.t_s) * 10) if s.t_s < 10 else s for s in run_of(100)
    ]
    assert failed(verdict(samples, 10, 0.05, 0)) == set()
    assert failed(verdict(samples, 0, 0.05, 0)) == {"rss", "fds"}


@pytest.mark.parametrize("field", sorted(FLAT))
def test_a_count_that_keeps_rising_fails(field):
    # One more every 4 samples: a slow leak, yet the end's lowest is above the start's highest.
    samples = run_of(200)
    samples = [replace(s, **{field: getattr(s, field) + i // 4}) for i, s in enumerate(samples)]
    assert failed(verdict(samples, 10, 0.05, 0)) == {field}


def test_a_burst_at_the_end_is_not_a_leak():
    samples = run_of(100)
    samples[-3:] = [replace(s, fds=s.fds + 40, upstreams=s.upstreams + 40) for s in samples[-3:]]
    assert failed(verdict(samples, 10, 0.05, 0)) == set()


def test_any_unexpected_error_fails():
    assert failed(verdict(run_of(100), 10, 0.05, errors=1)) == {"errors"}


def test_too_short_a_run_cannot_pass():
    checks = verdict(run_of(5), warmup_s=10, max_rss_growth=0.05, errors=0)
    assert [c.name for c in checks] == ["duration"] and not checks[0].passed


def test_tcp_table_gives_ports_and_listening_by_inode():
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1\n"
        "   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 222 1\n"
        "   2: 0100007F:C350 0100007F:2382 01 00000000:00000000 00:00000000 00000000  1000        0 333 1\n"
    )
    table = parse_tcp_table(text)
    assert table[111].listening and table[111].local_port == 8080
    assert not table[222].listening and (table[222].local_port, table[222].remote_port) == (8080, 54321)
    assert table[333].remote_port == 9090


def test_metrics_give_buffered_dropped_429s_and_statuses():
    text = (
        "# TYPE aigw_calllog_buffered gauge\naigw_calllog_buffered 7\n"
        'aigw_calllog_dropped_total{reason="buffer_full"} 2\n'
        'aigw_upstream_retries_total{provider="limited",outcome="rate_limited"} 5\n'
        'aigw_upstream_retries_total{provider="limited",outcome="server_error"} 9\n'
        'aigw_requests_total{route="chat",model="m",provider="p",status="200"} 10\n'
        'aigw_requests_total{route="embeddings",model="m",provider="p",status="200"} 4\n'
        'aigw_requests_total{route="chat",model="m",provider="",status="499"} 3\n'
    )
    m = parse_metrics(text)
    assert (m.calllog_buffered, m.calllog_dropped, m.upstream_429s) == (7, 2, 5)
    assert m.statuses == {"200": 14, "499": 3}


@pytest.mark.skipif(not shutil.which("taskset"), reason="needs taskset (util-linux)")
def test_a_short_soak_reports_its_samples_and_verdict(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable, "-m", "bench", "soak", "--duration", "6", "--warmup", "2", "--rate", "40",
            "--hostile-rate", "5", "--connections", "16", "--sample-interval", "0.5", "--no-chart",
            "--out", str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )  # fmt: skip
    assert result.returncode in (0, 3), result.stdout + result.stderr
    doc = json.loads((out / "soak.json").read_text())
    checks = {c["name"]: c for c in doc["verdict"]["checks"]}
    assert set(checks) == {"rss", *FLAT, "errors"}
    # A failed check flags the run, and a flagged run exits 3 (a stall of the machine may flag it
    # too: requests it could not send on schedule).
    assert doc["verdict"]["passed"] or doc["flagged"]
    assert (result.returncode == 0) == (not doc["flagged"])
    # Nothing failed but what was provoked: every hostile kind ran and got its due answer.
    assert checks["errors"]["passed"], checks["errors"]
    assert set(doc["hostile"]["done"]) == set(KINDS) and doc["hostile"]["unexpected"] == []
    for kind in MIX:
        load = doc["loads"][kind]
        assert load["requests"] > 0 and load["non2xx"] == 0 and sum(load["socket_errors"].values()) == 0, load
    # aigw recorded the provoked failures as what they are: broken JSON 400, wrong key 401, left 499.
    assert {"200", "400", "401", "499"} <= set(doc["statuses"])
    samples = doc["samples"]
    assert len(samples) >= 8 and samples[-1]["t_s"] > samples[0]["t_s"]
    assert all(s["rss_mb"] > 0 and s["fds"] > 0 for s in samples)
    assert max(s["callers"] for s in samples) > 0 and max(s["upstreams"] for s in samples) > 0
    assert samples[-1]["provoked"] > 0
