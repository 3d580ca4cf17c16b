"""End to end: each load scenario starts its upstreams and aigw instances, loads them briefly and
reports throughput (or streams) for each with zero errors. They may apt-get install nginx, wrk and
gcc (as root)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.install import find_command

ROOT = Path(__file__).resolve().parents[2]


needs_tools = pytest.mark.skipif(
    os.geteuid() != 0 and not (find_command("nginx") and find_command("wrk")),
    reason="needs nginx and wrk, or root to install them",
)
needs_taskset = pytest.mark.skipif(not shutil.which("taskset"), reason="needs taskset (util-linux)")


def run_scenario(tmp_path, scenario, *options):
    """A short run of `scenario`; its JSON report, which must not be flagged."""
    out = tmp_path / "out"
    short = ["--duration", "2", "--connections", "8", "--repeat", "1", "--warmup", "0.5", "--no-chart"]
    result = subprocess.run(
        [sys.executable, "-m", "bench", scenario, *short, *options, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads((out / f"{scenario}.json").read_text())
    assert doc["flagged"] is False, doc["flags"]
    assert (out / f"{scenario}.md").read_text().startswith(f"# aigw bench: {scenario}")
    return doc


def assert_clean(row):
    assert row["rps"] > 0 and row["non2xx"] == 0 and row["socket_errors"] == 0, row


@needs_tools
@needs_taskset
def test_passthrough_end_to_end(tmp_path):
    doc = run_scenario(tmp_path, "passthrough")
    assert doc["flagged"] is False, doc["flags"]
    for mode in ("closed", "open"):
        for target in ("aigw", "nginx", "direct"):
            row = doc["summary"][mode][target]
            assert row["rps"] > 0, (mode, target, row)
            assert row["non2xx"] == 0 and row["socket_errors"] == 0
    assert doc["headline"]["aigw_vs_nginx"] > 0
    # The same run measures aigw with call logging and metrics off.
    assert doc["summary"]["closed"]["aigw-quiet"]["rps"] > 0 and doc["headline"]["aigw_vs_quiet"] > 0
    assert doc["summary"]["closed"]["aigw"]["cpu_s_per_1k"] > 0


@needs_tools
@needs_taskset
def test_translate_answers_in_openai_format_through_anthropic(tmp_path):
    doc = run_scenario(tmp_path, "translate")
    for target in ("direct", "aigw-passthrough", "aigw-translate"):
        assert_clean(doc["summary"]["closed"][target])
    assert doc["headline"]["translate_vs_passthrough"] > 0


@needs_tools
@needs_taskset
def test_limits_admits_every_one_of_many_consumers(tmp_path):
    doc = run_scenario(tmp_path, "limits", "--consumers", "300")
    for target in ("aigw-1", "aigw-many"):
        assert_clean(doc["summary"]["closed"][target])
    assert doc["headline"]["consumers"] == 300 and doc["headline"]["many_vs_one"] > 0


@needs_tools
@needs_taskset
def test_exhaustion_retries_every_upstream_429_invisibly(tmp_path):
    doc = run_scenario(tmp_path, "exhaustion", "--reset-ms", "50")
    for target in ("aigw-healthy", "aigw-exhaustion"):
        assert_clean(doc["summary"]["closed"][target])
    # The spent keys were tried (and refused) again and again, and no caller saw it.
    assert doc["headline"]["upstream_429s_retried"] > 2
    assert doc["headline"]["client_errors"] == 0


@needs_tools
@needs_taskset
def test_stream_runs_every_stream_through_aigw_nginx_and_direct(tmp_path):
    doc = run_scenario(tmp_path, "stream", "--streams", "20", "--chunks", "4", "--chunk-interval-ms", "5")
    for target in ("direct", "nginx", "aigw"):
        row = doc["summary"][target]
        assert row["streams_completed"] > 20 and row["errors"] == 0, (target, row)
        assert set(row["errors_by_kind"]) >= {"truncated", "broken"}, row
    assert doc["settings"]["client"].startswith("bench/loadgen")
    head = doc["headline"]
    assert head["failed_streams"] == {"direct": 0, "nginx": 0, "aigw": 0}
    # Differences of medians both proxies have; nginx's CPU in a short run may be below /proc's clock.
    for key in ("gap_p99", "gap_p50", "ttfb_p99", "ttfb_p50"):
        assert isinstance(head[f"added_{key}_minus_nginx_ms"], float), key
    assert head["aigw_cpu_us_per_chunk"] > 0
    assert head["cpu_per_chunk_vs_nginx"] is None or head["cpu_per_chunk_vs_nginx"] > 0
    assert set(doc["added"]) == {"nginx", "aigw"}


@needs_tools
@needs_taskset
def test_scale_serves_every_worker_count_and_measures_each_workers_memory(tmp_path):
    workers = min(2, len(os.sched_getaffinity(0)))
    doc = run_scenario(tmp_path, "scale", "--max-workers", str(workers), "--streams", "20")
    assert sorted(doc["summary"]) == [str(n) for n in range(1, workers + 1)]
    for name, (run,) in doc["runs"]["closed"].items():
        assert run["target"] == name and run["rps"] > 0 and run["non2xx"] == 0 and not run["flagged"], run
    for n, row in doc["summary"].items():
        assert row["workers"] == int(n) and len(row["cores"].split(",")) == int(n)
        assert row["rps"] > 0 and row["rps_per_core"] > 0 and row["cpu_us_per_request"] > 0, row
        assert all(row["worker_rss_mb"][phase] > 0 for phase in ("idle", "load", "streams")), row
        assert row["streams_completed"] > 0 and sum(row["stream_errors"].values()) == 0, row
        assert row["streams_per_worker"] == 20 / int(n)
    assert doc["summary"]["1"]["efficiency"] == 1.0
    assert set(doc["headline"]) >= {"rps", "rps_per_core", "efficiency", "shared", "worker_rss_mb"}
    # The load keeps one core (the default); a count with more workers than the others shares it.
    own = len(os.sched_getaffinity(0)) - 1
    assert doc["headline"]["shared"] == [n for n in range(1, workers + 1) if n > own]
