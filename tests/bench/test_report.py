"""Rendering: markdown and JSON files, FLAGGED in place of throughput, the scenario registry."""

import json

from bench.cli import parser
from bench.report import Panel, Report, Table, markdown, write
from bench.results import Measurement, summarize
from bench.scenarios import load
from bench.scenarios.common import summary_table

HEADER = {
    "date": "2026-01-01 00:00:00 UTC",
    "command": "python -m bench passthrough",
    "machine": {"cpu": "Test CPU", "cores": 2, "ram_gib": 4.0, "os": "Linux"},
    "cores": {"aigw": "0", "load": "1"},
    "versions": {"python": "3.11.7", "aigw": "0.1.0", "nginx": None},
    "method": "The method paragraph.",
}


def measurement(target: str, non2xx: int = 0) -> Measurement:
    return Measurement(
        target=target,
        mode="closed",
        tool="wrk",
        connections=8,
        duration_s=2,
        requests=2000,
        rps=1000.0,
        latency_ms={"p50": 0.5, "p90": 0.8, "p99": 1.25, "p99.9": 2.5},
        non2xx=non2xx,
        socket_errors={"connect": 0, "read": 0, "write": 0, "timeout": 0},
        cpu_s=1.0,
        peak_rss_mb=50.0,
    )


def test_summary_table_shows_flagged_in_place_of_throughput():
    table = summary_table(
        "t", [summarize([measurement("aigw")]), summarize([measurement("nginx", non2xx=5)])]
    )
    aigw, nginx = table.rows
    assert aigw[:2] == ["aigw", "1,000"] and aigw[4] == "1.250"
    assert nginx[:2] == ["nginx", "FLAGGED"] and nginx[8] == "5"


def test_markdown_has_header_tables_flags_and_chart(tmp_path):
    report = Report(
        scenario="passthrough",
        header=HEADER,
        settings={"duration_s": 2},
        data={"headline": {"aigw_rps": float("nan")}},
        tables=[Table("Closed loop", ["target", "req/s"], [["aigw", "1,000"]])],
        panels=[Panel("req/s", "req/s", {"aigw": 1000.0})],
        flags=["closed nginx: run 1: 5 non-2xx responses"],
        notes=["a note"],
    )
    text = markdown(report, "passthrough.png")
    for expected in (
        "# aigw bench: passthrough",
        "Test CPU, 2 cores, 4.0 GiB RAM",
        "python 3.11.7, aigw 0.1.0",  # versions that are missing are left out
        "`python -m bench passthrough`",
        "**Method.** The method paragraph.",
        "**FLAGGED runs**",
        "- closed nginx: run 1: 5 non-2xx responses",
        "### Closed loop\n\n| target | req/s |\n|---|---:|\n| aigw | 1,000 |",
        "- a note",
        "![chart](passthrough.png)",
    ):
        assert expected in text
    paths = write(report, tmp_path / "out", chart=False)
    assert set(paths) == {"json", "markdown"}
    doc = json.loads(paths["json"].read_text())
    assert doc["flagged"] is True and doc["headline"]["aigw_rps"] is None  # NaN becomes null
    assert doc["header"]["machine"]["cpu"] == "Test CPU"


def test_registry_and_per_scenario_defaults():
    scenarios = load()
    assert {"passthrough", "stream", "url"} <= set(scenarios)
    p = parser(scenarios)
    url = p.parse_args(["url", "http://127.0.0.1:1/"])
    passthrough = p.parse_args(["passthrough"])
    assert (url.connections, url.repeat) == (16, 1)
    assert (passthrough.connections, passthrough.repeat) == (64, 3)  # url's defaults do not leak
